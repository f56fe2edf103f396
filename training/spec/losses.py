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


def loss_target_problem(loss: LossBase, kind: TargetKind, dataset_type: str) -> str | None:
    """Why loss cannot train on a data set with kind targets, or None when it can."""
    if kind in loss.target_kinds:
        return None
    needed = " or ".join(sorted(loss.target_kinds))
    return (
        f"loss {type(loss).__name__.removesuffix('Spec')} needs {needed} targets, "
        f"but data set {dataset_type!r} provides {kind.value} targets"
    )
