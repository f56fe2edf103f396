"""Training jobs: the spec as submitted, its lifecycle state and final results."""

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, Enum, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, CreatedAt, UTCDateTime, UUIDPk, utcnow


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    PAUSED = "paused"


class JobKind(StrEnum):
    TRAIN = "train"
    CROSS_VALIDATION = "cross_validation"  # a parent whose child jobs each train one fold


FINISHED_STATUSES = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED})


class Job(UUIDPk, CreatedAt, Base):
    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_owner_created", "owner_id", "created_at", "id"),
        Index("ix_jobs_status_priority", "status", "priority", "queued_at"),
        Index("uq_jobs_owner_idempotency_key", "owner_id", "idempotency_key", unique=True),
    )

    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str | None] = mapped_column(String(200))
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    spec_version: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[JobStatus] = mapped_column(
        Enum(
            JobStatus,
            native_enum=False,
            create_constraint=True,
            length=16,
            name="job_status",
            values_callable=lambda enum: [member.value for member in enum],
        ),
        default=JobStatus.QUEUED,
        index=True,
    )
    epochs: Mapped[int] = mapped_column(Integer)
    current_epoch: Mapped[int] = mapped_column(Integer, default=0)
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)
    worker: Mapped[str | None] = mapped_column(String(200))
    stop_reason: Mapped[str | None] = mapped_column(String(32))
    final_metrics: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    best_epoch: Mapped[int | None] = mapped_column(Integer)
    best_metrics: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    dataset_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("datasets.id", ondelete="SET NULL"), index=True
    )
    # scheduling: higher priority first; queued_at restarts when a job is requeued or resumed
    priority: Mapped[int] = mapped_column(Integer, default=0)
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=utcnow)
    woken_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    device: Mapped[str] = mapped_column(String(8), default="auto")
    # fault tolerance: the running attempt holds a lease it renews; writes carry its number
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    checkpoint_epoch: Mapped[int] = mapped_column(Integer, default=0)
    run_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    # control
    pause_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    max_runtime_s: Mapped[int | None] = mapped_column(Integer)
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    request_sha256: Mapped[str | None] = mapped_column(String(64))
    # cross-validation: a parent job and one child per fold
    kind: Mapped[JobKind] = mapped_column(
        Enum(
            JobKind,
            native_enum=False,
            create_constraint=True,
            length=24,
            name="job_kind",
            values_callable=lambda enum: [member.value for member in enum],
        ),
        default=JobKind.TRAIN,
    )
    parent_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("jobs.id", ondelete="CASCADE"), index=True
    )
    fold: Mapped[int | None] = mapped_column(Integer)
