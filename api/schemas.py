"""HTTP request and response models."""

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from models import JobStatus
from training.dry_run import DryRun
from training.spec import MAX_EPOCHS, TrainingSpec
from training.spec.optimizers import OptimizerSpec
from training.spec.schedulers import SchedulerSpec


class JobCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=200)
    spec: TrainingSpec


class JobRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str | None
    status: JobStatus
    epochs: int
    current_epoch: int
    attempt: int
    cancel_requested: bool
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    error: str | None
    stop_reason: str | None = Field(description="completed, early_stopped, cancelled, ...")
    final_metrics: dict[str, Any] | None = Field(description="the last epoch's metrics")
    best_epoch: int | None
    best_metrics: dict[str, Any] | None
    spec: dict[str, Any]


class JobCreated(JobRead):
    warnings: list[str] = Field(description="things that will train but look wrong")


class DatasetInfo(BaseModel):
    type: str
    n_samples: int
    sample_shape: tuple[int, ...]
    target_shape: tuple[int, ...]
    target_kind: str
    num_classes: int | None


class JobValidation(BaseModel):
    """What a job would train, without storing or queueing anything."""

    valid: bool
    warnings: list[str]
    dataset: DatasetInfo
    steps_per_epoch: int
    dry_run: DryRun
    spec: TrainingSpec


class JobPage(BaseModel):
    items: list[JobRead]
    next_cursor: str | None


class EpochMetrics(BaseModel):
    """One epoch: fixed fields plus every other recorded metric by key."""

    model_config = ConfigDict(extra="allow")

    epoch: int
    lr: list[float | None] = Field(description="lr of each parameter group after the epoch")


class MetricsRead(BaseModel):
    items: list[EpochMetrics]
    next_since_epoch: int = Field(description="pass as since_epoch to get only newer epochs")


class EventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    kind: str = Field(description="queued, started, lr_reduced_on_plateau, early_stopped, ...")
    epoch: int | None
    data: dict[str, Any]


class SchedulePreviewCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    optimizer: OptimizerSpec
    scheduler: SchedulerSpec
    epochs: int = Field(ge=1, le=MAX_EPOCHS)
    steps_per_epoch: int = Field(default=1, ge=1, description="batches per epoch")


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")


class UserCreated(BaseModel):
    name: str
    token: str = Field(description="shown only once; store it now")


class Health(BaseModel):
    status: str
    checks: dict[str, str] = Field(default_factory=dict)
