"""TrainingSpec: the whole job as data, validated before anything is queued."""

from typing import Annotated, Literal, Self

from pydantic import Field, model_validator

from training.spec.base import SpecModel, field_error
from training.spec.data import DatasetSpec
from training.spec.early_stopping import EarlyStoppingSpec
from training.spec.losses import LossSpec, loss_dataset_problem, loss_target_problem
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
        problem = problem or loss_dataset_problem(self.loss, self.dataset)
        if problem:
            raise field_error(("loss",), problem, self.loss.type)
        return self

    @model_validator(mode="after")
    def _param_groups_name_layers(self) -> Self:
        unknown = self.optimizer.referenced_layers() - set(self.model.layer_names())
        if unknown:
            known = ", ".join(self.model.layer_names())
            message = (
                f"parameter groups name layers that do not exist: "
                f"{', '.join(sorted(unknown))}; the layers are: {known}"
            )
            raise field_error(("optimizer", "param_groups"), message, sorted(unknown))
        return self


__all__ = ["ModelSpec", "TrainingOptions", "TrainingSpec"]
