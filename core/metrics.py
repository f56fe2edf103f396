"""Per-epoch metrics and job events: idempotent writes and epoch-window reads."""

import math
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from models import JobEvent, JobMetric


@dataclass(frozen=True)
class EpochRecord:
    """What one epoch reported: metric key -> value, plus the global step at its end."""

    epoch: int
    step: int
    values: Mapping[str, float]


@dataclass(frozen=True)
class EventRecord:
    kind: str
    epoch: int | None
    data: Mapping[str, Any]


def _rows(job_id: uuid.UUID, records: Iterable[EpochRecord]) -> list[dict[str, Any]]:
    rows = []
    for record in records:
        for key, value in record.values.items():
            finite = math.isfinite(value)
            rows.append(
                {
                    "job_id": job_id,
                    "epoch": record.epoch,
                    "key": key,
                    "step": record.step,
                    "value": value if finite else None,
                    "is_nan": not finite,
                }
            )
    return rows


def write_epochs(session: Session, *, job_id: uuid.UUID, records: Iterable[EpochRecord]) -> None:
    """Insert the records; rows already stored are kept, so a retried write never duplicates."""
    rows = _rows(job_id, records)
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(insert(JobMetric).on_conflict_do_nothing(), rows)


def read_epochs(
    session: Session, *, job_id: uuid.UUID, since_epoch: int = 0, limit: int = 10_000
) -> list[dict[str, Any]]:
    """Epochs after since_epoch (at most limit of them), each as {"epoch", key: value, ...}."""
    query = (
        select(JobMetric.epoch, JobMetric.key, JobMetric.value)
        .where(
            JobMetric.job_id == job_id,
            JobMetric.epoch > since_epoch,
            JobMetric.epoch <= since_epoch + limit,
        )
        .order_by(JobMetric.epoch)
    )
    epochs: dict[int, dict[str, Any]] = {}
    for epoch, key, value in session.execute(query):
        epochs.setdefault(epoch, {"epoch": epoch})[key] = value
    return list(epochs.values())


def write_events(session: Session, *, job_id: uuid.UUID, events: Iterable[EventRecord]) -> None:
    session.add_all(
        JobEvent(job_id=job_id, kind=event.kind, epoch=event.epoch, data=dict(event.data))
        for event in events
    )


def read_events(session: Session, *, job_id: uuid.UUID, after_id: int = 0) -> list[JobEvent]:
    """The job's events after after_id, oldest first."""
    query = (
        select(JobEvent)
        .where(JobEvent.job_id == job_id, JobEvent.id > after_id)
        .order_by(JobEvent.id)
    )
    return list(session.scalars(query))
