"""TrainingSpec: the whole job as data, validated before anything is queued."""

from typing import Annotated, Literal, Self

from pydantic import Field, model_validator

from training.spec.base import SpecModel
from training.spec.data import DatasetSpec
from training.spec.early_stopping import EarlyStoppingSpec
from training.spec.layers import LayerSpec
from training.spec.losses import LossSpec
from training.spec.optimizers import OptimizerSpec
from training.spec.regularization import RegularizationSpec
from training.spec.schedulers import SchedulerSpec

MAX_EPOCHS = 1_000_000
Device = Annotated[str, Field(pattern=r"^(auto|cpu|cuda(:\d+)?)$")]


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


class TrainingOptions(SpecModel):
    epochs: int = Field(ge=1, le=MAX_EPOCHS)
    batch_size: int | None = Field(default=None, ge=1, description="null trains full-batch")
    shuffle: bool = True
    drop_last: bool = False
    seed: int = Field(default=0, ge=0, lt=2**63)
    device: Device = "auto"
    early_stopping: EarlyStoppingSpec | None = None


class TrainingSpec(SpecModel):
    """Everything a worker needs to train one network."""

    version: Literal[1] = 1
    dataset: DatasetSpec
    model: ModelSpec
    loss: LossSpec
    optimizer: OptimizerSpec
    scheduler: SchedulerSpec | None = None
    regularization: RegularizationSpec = RegularizationSpec()
    training: TrainingOptions

    @model_validator(mode="after")
    def _loss_fits_dataset(self) -> Self:
        kind = self.dataset.target_kind
        if kind not in self.loss.target_kinds:
            raise ValueError(
                f"loss {self.loss.type} needs {_kinds(self.loss.target_kinds)} targets, "
                f"but data set {self.dataset.type!r} provides {kind.value} targets"
            )
        return self


def _kinds(kinds: frozenset[str]) -> str:
    return " or ".join(sorted(kinds))


__all__ = ["ModelSpec", "TrainingOptions", "TrainingSpec"]
