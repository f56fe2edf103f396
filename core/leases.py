"""Leases: a running attempt proves it is alive; the sweeper recovers jobs whose attempt died.

Every write an attempt makes goes through `hold`, in the same transaction: it renews the lease
only while the job is still running as that attempt, so an attempt the sweeper has given up on
(a zombie: paused by the OS, cut off by the network) can never write into the job again.
"""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from core import cross_validation
from core.jobs import add_event
from models import FINISHED_STATUSES, Job, JobKind, JobStatus


class LeaseLost(Exception):
    """The job is no longer running as this attempt: stop and write nothing more."""


@dataclass(frozen=True)
class Flags:
    """What the owner of the job has asked the running attempt to do."""

    cancel: bool
    pause: bool


def _now() -> datetime:
    return datetime.now(UTC)


def hold(
    session: Session,
    *,
    job_id: uuid.UUID,
    attempt: int,
    lease_seconds: float,
    **values: Any,
) -> Flags:
    """Renew the lease (and set `values`) if the attempt still owns the job; else LeaseLost.

    On PostgreSQL the UPDATE locks the row until the transaction ends, so a sweeper cannot
    requeue the job between this check and the writes that follow it.
    """
    now = _now()
    result = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.attempt == attempt, Job.status == JobStatus.RUNNING)
        .values(heartbeat_at=now, lease_expires_at=now + timedelta(seconds=lease_seconds), **values)
        .returning(Job.cancel_requested, Job.pause_requested)
    )
    row = result.one_or_none()
    if row is None:
        raise LeaseLost(f"job {job_id} is no longer running as attempt {attempt}")
    return Flags(cancel=bool(row[0]), pause=bool(row[1]))


@dataclass(frozen=True)
class Recovered:
    """A job whose lease ran out, and what became of it."""

    job_id: uuid.UUID
    status: JobStatus


def recover_expired(session: Session, *, now: datetime | None = None) -> list[Recovered]:
    """Requeue running jobs whose lease expired, or fail them after their last attempt.

    A job whose owner asked to cancel or pause while its worker died ends that way instead.
    Each change is a conditional UPDATE, so several sweepers at once do each job once.
    """
    now = now or _now()
    expired = session.execute(
        select(
            Job.id, Job.attempt, Job.max_attempts, Job.cancel_requested, Job.pause_requested
        ).where(
            Job.status == JobStatus.RUNNING,
            Job.kind == JobKind.TRAIN,
            Job.lease_expires_at < now,
        )
    ).all()
    recovered = []
    for job_id, attempt, max_attempts, cancel, pause in expired:
        values: dict[str, Any]
        if cancel:
            status = JobStatus.CANCELLED
            values = {"finished_at": now, "stop_reason": "cancelled"}
        elif pause:
            status = JobStatus.PAUSED
            values = {"pause_requested": False, "queued_at": None}
        elif attempt >= max_attempts:
            status = JobStatus.FAILED
            values = {
                "finished_at": now,
                "stop_reason": "worker_lost",
                "error": (
                    f"the worker running attempt {attempt} stopped renewing its lease; "
                    f"gave up after {max_attempts} attempts"
                ),
            }
        else:
            status = JobStatus.QUEUED
            values = {"queued_at": now, "woken_at": None}
        changed = session.execute(
            update(Job)
            .where(Job.id == job_id, Job.attempt == attempt, Job.status == JobStatus.RUNNING)
            .values(status=status, lease_expires_at=None, **values)
        )
        if changed.rowcount != 1:  # type: ignore[attr-defined]
            continue
        kind = "requeued" if status == JobStatus.QUEUED else status.value
        add_event(session, job_id=job_id, kind=kind, reason="lease_expired", attempt=attempt)
        if status in FINISHED_STATUSES:
            cross_validation.child_finished(session, child_id=job_id)
        recovered.append(Recovered(job_id=job_id, status=status))
    return recovered


def unwoken(
    session: Session, *, older_than: timedelta, now: datetime | None = None
) -> list[uuid.UUID]:
    """Queued jobs that have waited longer than older_than since queued or last woken.

    Their wake-up message may be lost (a broker restarted without persistence); the caller
    sends a new one. Each is marked woken now, so it is re-sent at most once per interval.
    """
    now = now or _now()
    cutoff = now - older_than
    waiting = list(
        session.scalars(
            select(Job.id).where(
                Job.status == JobStatus.QUEUED,
                Job.kind == JobKind.TRAIN,
                Job.queued_at < cutoff,
                or_(Job.woken_at.is_(None), Job.woken_at < cutoff),
            )
        )
    )
    if waiting:
        session.execute(update(Job).where(Job.id.in_(waiting)).values(woken_at=now))
    return waiting
