"""Per-epoch metrics and job events: idempotent writes, key selection, epoch-window reads."""

import math
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVarTuple

from sqlalchemy import (
    Select,
    func,
    select,
)
from sqlalchemy.orm import Session

from core.errors import JobNotFound, RequestRejected
from models import Job, JobEvent, JobMetric, User

LR = "lr"
LR_PREFIX = "lr/"

Columns = TypeVarTuple("Columns")


class ParameterRejected(RequestRejected):
    """A parameter whose value cannot be served; detail names it as FastAPI's own 422s do."""

    def __init__(self, parameter: str, message: str, location: str = "query") -> None:
        super().__init__(f"{parameter}: {message}")
        self.parameter = parameter
        self.detail = [
            {
                "loc": [location, parameter],
                "field": parameter,
                "msg": message,
                "type": "value_error",
            }
        ]


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


_INSERT_SQLITE = (
    "INSERT INTO job_metrics (job_id, epoch, key, step, value, is_nan)"
    " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
)
# COPY costs PostgreSQL less than an INSERT of the same rows, but cannot skip a stored row: the
# range is deleted first (nothing, but for a retry whose commit was stored and not acknowledged)
_DELETE_POSTGRESQL = "DELETE FROM job_metrics WHERE job_id = %s AND epoch BETWEEN %s AND %s"
_COPY_POSTGRESQL = (
    "COPY job_metrics (job_id, epoch, key, step, value, is_nan) FROM STDIN (FORMAT BINARY)"
)
_COPY_TYPES = ["uuid", "int4", "varchar", "int4", "float8", "bool"]


def _rows(job_id: Any, records: Iterable[EpochRecord]) -> list[tuple[Any, ...]]:
    """(job_id, epoch, key, step, value, is_nan) of every value; NaN/inf are stored as NULL plus
    a flag."""
    rows: list[tuple[Any, ...]] = []
    for record in records:
        epoch, step = record.epoch, record.step
        for key, value in record.values.items():
            if math.isfinite(value):
                rows.append((job_id, epoch, key, step, value, False))
            else:
                rows.append((job_id, epoch, key, step, None, True))
    return rows


def write_epochs(session: Session, *, job_id: uuid.UUID, records: Sequence[EpochRecord]) -> None:
    """Store the records; an epoch already stored is stored once, so a retry never duplicates.

    The worker's hot path: plain driver statements, as the ORM's per-row bookkeeping cost more
    than the training of a small network's epoch.
    """
    if not records:
        return
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        # SQLAlchemy's Uuid type keeps 32 hex digits on SQLite
        connection.exec_driver_sql(_INSERT_SQLITE, _rows(job_id.hex, records))
        return
    epochs = [record.epoch for record in records]
    driver = connection.connection.driver_connection
    assert driver is not None
    with driver.cursor() as cursor:
        cursor.execute(_DELETE_POSTGRESQL, (job_id, min(epochs), max(epochs)))
        with cursor.copy(_COPY_POSTGRESQL) as copy:
            copy.set_types(_COPY_TYPES)
            for row in _rows(job_id, records):
                copy.write_row(row)


def last_epoch(session: Session, *, job_id: uuid.UUID) -> int:
    """The newest stored epoch (0 for none); epochs are stored as a prefix 1..n, whole."""
    newest = session.scalar(select(func.max(JobMetric.epoch)).where(JobMetric.job_id == job_id))
    return int(newest or 0)


def owned_last_epoch(session: Session, *, job_id: uuid.UUID, user: User) -> int:
    """last_epoch, read by the statement that checks user may see the job (as get_for_owner).

    A poll then costs one statement before its rows; the job row itself is not loaded.
    """
    newest = select(func.max(JobMetric.epoch)).where(JobMetric.job_id == Job.id)
    query = select(Job.owner_id, newest.scalar_subquery()).where(Job.id == job_id)
    row = session.execute(query).first()
    if row is None or (row[0] != user.id and not user.is_admin):
        raise JobNotFound(f"no job {job_id}")
    return int(row[1] or 0)


def recorded_keys(session: Session, *, job_id: uuid.UUID) -> list[str]:
    """The keys the job records: those of its first epoch, which every epoch repeats."""
    query = select(JobMetric.key).where(JobMetric.job_id == job_id, JobMetric.epoch == 1)
    return sorted(session.scalars(query))


def select_keys(requested: Sequence[str] | None, recorded: Sequence[str]) -> list[str] | None:
    """The stored keys a request names ("lr" stands for every lr/<group>); None means all.

    Raises ParameterRejected naming `keys` for a key the job does not record (once it records).
    """
    if not requested:
        return None
    if not recorded:
        return list(requested)  # nothing recorded yet: no key can be judged, none is read
    selected: list[str] = []
    for key in requested:
        matches = [k for k in recorded if k.startswith(LR_PREFIX)] if key == LR else [key]
        if key != LR and key not in recorded:
            known = ", ".join([LR, *recorded])
            raise ParameterRejected("keys", f"this job records no {key!r}; it records: {known}")
        selected += [k for k in matches if k not in selected]
    return selected


def series_query(
    query: Select[*Columns], job_id: uuid.UUID, keys: Sequence[str] | None
) -> Select[*Columns]:
    query = query.where(JobMetric.job_id == job_id)
    return query if keys is None else query.where(JobMetric.key.in_(keys))


def _as_items(rows: Iterable[Any]) -> list[dict[str, Any]]:
    epochs: dict[int, dict[str, Any]] = {}
    for epoch, key, value in rows:
        epochs.setdefault(epoch, {"epoch": epoch})[key] = value
    return [epochs[epoch] for epoch in sorted(epochs)]


def read_epochs(
    session: Session,
    *,
    job_id: uuid.UUID,
    since_epoch: int = 0,
    limit: int = 10_000,
    keys: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """Epochs after since_epoch (at most limit of them), each as {"epoch", key: value, ...}."""
    return read_range(
        session, job_id=job_id, first=since_epoch + 1, last=since_epoch + limit, keys=keys
    )


def read_range(
    session: Session,
    *,
    job_id: uuid.UUID,
    first: int,
    last: int,
    keys: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """Every epoch from first to last, both included."""
    query = select(JobMetric.epoch, JobMetric.key, JobMetric.value)
    query = series_query(query, job_id, keys).where(JobMetric.epoch.between(first, last))
    return _as_items(session.execute(query.order_by(JobMetric.epoch)))


def read_at(
    session: Session, *, job_id: uuid.UUID, epochs: Iterable[int], keys: Sequence[str] | None
) -> list[dict[str, Any]]:
    """The given epochs only."""
    query = select(JobMetric.epoch, JobMetric.key, JobMetric.value)
    query = series_query(query, job_id, keys).where(JobMetric.epoch.in_(sorted(set(epochs))))
    return _as_items(session.execute(query))


def write_events(session: Session, *, job_id: uuid.UUID, events: Iterable[EventRecord]) -> None:
    session.add_all(
        JobEvent(job_id=job_id, kind=event.kind, epoch=event.epoch, data=dict(event.data))
        for event in events
    )


def read_events(
    session: Session, *, job_id: uuid.UUID, after_id: int = 0, limit: int | None = None
) -> list[JobEvent]:
    """The job's events after after_id, oldest first."""
    query = (
        select(JobEvent)
        .where(JobEvent.job_id == job_id, JobEvent.id > after_id)
        .order_by(JobEvent.id)
        .limit(limit)
    )
    return list(session.scalars(query))
