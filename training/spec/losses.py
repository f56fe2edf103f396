"""Loss specs; each declares the target kinds it can train on."""

from typing import Annotated, ClassVar, Literal

from pydantic import Field

from training.spec.base import SpecModel
from training.spec.targets import TargetKind

Reduction = Literal["mean", "sum", "none"]


class LossBase(SpecModel):
    target_kinds: ClassVar[frozenset[TargetKind]]
    reduction: Reduction = "mean"


class CrossEntropyLossSpec(LossBase):
    target_kinds = frozenset({TargetKind.CLASS_INDEX})
    type: Literal["CrossEntropyLoss"] = "CrossEntropyLoss"
    weight: list[float] | None = None
    ignore_index: int = -100
    label_smoothing: float = Field(default=0.0, ge=0.0, le=1.0)


class MSELossSpec(LossBase):
    target_kinds = frozenset({TargetKind.REGRESSION})
    type: Literal["MSELoss"] = "MSELoss"


LossSpec = Annotated[CrossEntropyLossSpec | MSELossSpec, Field(discriminator="type")]
