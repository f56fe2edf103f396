"""TrainingSpec: the whole job as data, validated before anything is queued."""

from typing import Annotated, Literal, Self

from pydantic import Field, model_validator

from training.spec.base import SpecModel
from training.spec.data import DatasetSpec
from training.spec.early_stopping import EarlyStoppingSpec
from training.spec.losses import LossSpec, loss_target_problem
from training.spec.model import ModelSpec
from training.spec.optimizers import OptimizerSpec
from training.spec.regularization import RegularizationSpec
from training.spec.schedulers import SchedulerSpec

MAX_EPOCHS = 1_000_000
Device = Annotated[str, Field(pattern=r"^(auto|cpu|cuda(:\d+)?)$")]


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
        problem = loss_target_problem(self.loss, self.dataset.target_kind, self.dataset.type)
        if problem:
            raise ValueError(problem)
        return self


__all__ = ["ModelSpec", "TrainingOptions", "TrainingSpec"]
