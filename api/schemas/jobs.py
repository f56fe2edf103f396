"""HTTP models of jobs: submission, validation, reads and pages."""

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.metrics import EventRead
from models import JobStatus
from training.build.data_report import DataReport
from training.dry_run import DryRun
from training.spec import TrainingSpec


class JobCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=200)
    spec: TrainingSpec
    priority: int = Field(default=0, ge=-100, le=100, description="higher runs first")
    max_runtime_s: int | None = Field(
        default=None, ge=1, description="stop the job (status cancelled) after this many seconds"
    )
    max_attempts: int | None = Field(
        default=None,
        ge=1,
        le=100,
        description="runs after which a job whose worker keeps dying fails (server default)",
    )


class JobRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str | None
    status: JobStatus
    epochs: int
    current_epoch: int
    attempt: int
    cancel_requested: bool
    pause_requested: bool
    priority: int
    max_attempts: int
    max_runtime_s: int | None
    checkpoint_epoch: int = Field(description="the newest epoch a resumed run would start from")
    kind: str
    parent_id: uuid.UUID | None
    fold: int | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    error: str | None
    stop_reason: str | None = Field(description="completed, early_stopped, cancelled, ...")
    final_metrics: dict[str, Any] | None = Field(description="the last epoch's metrics")
    best_epoch: int | None
    best_metrics: dict[str, Any] | None
    spec: dict[str, Any]
    queue_position: int | None = Field(default=None, description="while queued: 1 runs next")
    estimated_start_at: datetime | None = Field(
        default=None, description="while queued: from the running jobs' measured epoch times"
    )


class JobDetail(JobRead):
    events: list[EventRead] = Field(description="the job's events, oldest first")


class JobCreated(JobRead):
    warnings: list[str] = Field(description="things that will train but look wrong")


class JobValidation(BaseModel):
    """What a job would train, without storing or queueing anything."""

    valid: bool
    warnings: list[str]
    dataset: DataReport
    steps_per_epoch: int
    dry_run: DryRun
    spec: TrainingSpec


class JobPage(BaseModel):
    items: list[JobRead]
    next_cursor: str | None
