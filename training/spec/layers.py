"""Layer specs: one class per torch.nn layer, fields named and defaulted as in torch."""

from typing import Annotated, Literal

from pydantic import Field

from training.spec.base import SpecModel


class LayerBase(SpecModel):
    name: str | None = Field(default=None, min_length=1, max_length=64, pattern=r"^[\w.-]+$")


class LinearSpec(LayerBase):
    """nn.Linear; in_features is inferred from the layer before."""

    type: Literal["Linear"] = "Linear"
    out_features: int = Field(gt=0, le=1_000_000)
    bias: bool = True


class ReLUSpec(LayerBase):
    type: Literal["ReLU"] = "ReLU"
    inplace: bool = False


class TanhSpec(LayerBase):
    type: Literal["Tanh"] = "Tanh"


class SigmoidSpec(LayerBase):
    type: Literal["Sigmoid"] = "Sigmoid"


LayerSpec = Annotated[
    LinearSpec | ReLUSpec | TanhSpec | SigmoidSpec,
    Field(discriminator="type"),
]
