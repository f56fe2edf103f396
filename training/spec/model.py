"""ModelSpec: the network as an ordered list of layers."""

from typing import Self

from pydantic import Field, model_validator

from training.spec.base import SpecModel
from training.spec.layers import LayerSpec


class ModelSpec(SpecModel):
    """An ordered list of layers, as nn.Sequential builds them."""

    layers: list[LayerSpec] = Field(min_length=1, max_length=1000)

    @model_validator(mode="after")
    def _names_unique(self) -> Self:
        names = [layer.name for layer in self.layers if layer.name is not None]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"layer names must be unique; repeated: {', '.join(duplicates)}")
        return self

    def layer_names(self) -> list[str]:
        """Each layer's name in the built nn.Sequential: its own, or its index as a string."""
        return [layer.name or str(index) for index, layer in enumerate(self.layers)]
