"""HTTP models of the catalogue routes."""

from pydantic import BaseModel, ConfigDict, Field

from training.spec import MAX_EPOCHS
from training.spec.optimizers import OptimizerSpec
from training.spec.schedulers import SchedulerSpec


class SchedulePreviewCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    optimizer: OptimizerSpec
    scheduler: SchedulerSpec
    epochs: int = Field(ge=1, le=MAX_EPOCHS)
    steps_per_epoch: int = Field(default=1, ge=1, description="batches per epoch")
