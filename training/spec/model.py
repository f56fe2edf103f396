"""ModelSpec: the network as an ordered list of layers, and how its weights are initialised."""

from typing import Any, Self

from pydantic import Field, model_validator

from training.spec.base import Loc, SpecModel, errors_at
from training.spec.init import InitRuleSpec, rule_problems
from training.spec.layers import EmbeddingSpec, LayerSpec


class ModelSpec(SpecModel):
    """An ordered list of layers, as nn.Sequential builds them, and initialisation rules.

    The rules in `init` run after the network is built, in order (a later rule overrides an
    earlier one): each over the layers it selects in network order, weight before bias.
    """

    layers: list[LayerSpec] = Field(min_length=1, max_length=1000)
    init: list[InitRuleSpec] = Field(default=[], max_length=100)

    @model_validator(mode="after")
    def _names_unique(self) -> Self:
        names = self.layer_names()
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(
                f"layer names must be unique (an unnamed layer is named by its index); "
                f"repeated: {', '.join(duplicates)}"
            )
        return self

    @model_validator(mode="after")
    def _embedding_first(self) -> Self:
        late = [
            (
                ("layers", index),
                "Embedding takes integer indices: only the first layer can be one",
                layer.type,
            )
            for index, layer in enumerate(self.layers)
            if index > 0 and isinstance(layer, EmbeddingSpec)
        ]
        if late:
            raise errors_at("layer_order", late)
        return self

    @model_validator(mode="after")
    def _first_layer_not_inplace(self) -> Self:
        if getattr(self.layers[0], "inplace", False):
            reason = "an in-place first layer would overwrite the training data: use inplace false"
            raise errors_at("inplace_input", [(("layers", 0, "inplace"), reason, True)])
        return self

    @model_validator(mode="after")
    def _init_rules_fit(self) -> Self:
        layers = list(zip(self.layer_names(), self.layers, strict=True))
        problems: list[tuple[Loc, str, Any]] = [
            (("init", index, field), reason, getattr(rule, field))
            for index, rule in enumerate(self.init)
            for field, reason in rule_problems(rule, layers)
        ]
        if problems:
            raise errors_at("init_rule", problems)
        return self

    def layer_names(self) -> list[str]:
        """Each layer's name in the built nn.Sequential: its own, or its index as a string."""
        return [layer.name or str(index) for index, layer in enumerate(self.layers)]
