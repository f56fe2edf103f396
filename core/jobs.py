"""Job lifecycle: create, read for an owner, list, claim, cancel, finish, fail."""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.errors import JobNotCancellable, JobNotFound
from core.pagination import Page, newest_first
from models import FINISHED_STATUSES, Job, JobEvent, JobStatus, User


def _now() -> datetime:
    return datetime.now(UTC)


def add_event(
    session: Session, *, job_id: uuid.UUID, kind: str, epoch: int | None = None, **data: Any
) -> None:
    session.add(JobEvent(job_id=job_id, kind=kind, epoch=epoch, data=data))


def create(
    session: Session,
    *,
    owner_id: uuid.UUID,
    name: str | None,
    spec: dict[str, Any],
    epochs: int,
    dataset_id: uuid.UUID | None = None,
    priority: int = 0,
    max_attempts: int = 3,
    max_runtime_s: int | None = None,
) -> Job:
    """A queued job holding spec as JSON; the caller commits, then enqueues."""
    job = Job(
        owner_id=owner_id,
        name=name,
        spec=spec,
        epochs=epochs,
        status=JobStatus.QUEUED,
        dataset_id=dataset_id,
        priority=priority,
        max_attempts=max_attempts,
        max_runtime_s=max_runtime_s,
        device=spec.get("training", {}).get("device", "auto"),
        queued_at=_now(),
    )
    session.add(job)
    session.flush()
    add_event(session, job_id=job.id, kind="queued")
    return job


def get_for_owner(session: Session, *, job_id: uuid.UUID, user: User) -> Job:
    """The job if user owns it or is an admin; else JobNotFound, so foreign ids leak nothing."""
    job = session.get(Job, job_id)
    if job is None or (job.owner_id != user.id and not user.is_admin):
        raise JobNotFound(f"no job {job_id}")
    return job


def list_for_owner(
    session: Session,
    *,
    user: User,
    status: JobStatus | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[Job]:
    """The user's jobs (all jobs for an admin), newest first, filtered before the limit."""
    query = select(Job)
    if not user.is_admin:
        query = query.where(Job.owner_id == user.id)
    if status is not None:
        query = query.where(Job.status == status)
    return newest_first(session, query, Job, limit=limit, cursor=cursor)


def request_cancel(session: Session, *, job: Job) -> Job:
    """Cancel a queued job at once; ask a running one to stop at its next epoch boundary."""
    if job.status in FINISHED_STATUSES:
        raise JobNotCancellable(f"job {job.id} already {job.status.value}")
    if job.status == JobStatus.QUEUED:
        queued = session.execute(
            update(Job)
            .where(Job.id == job.id, Job.status == JobStatus.QUEUED)
            .values(status=JobStatus.CANCELLED, cancel_requested=True, finished_at=_now())
        )
        if queued.rowcount == 1:  # type: ignore[attr-defined]
            add_event(session, job_id=job.id, kind="cancelled", before_start=True)
            session.refresh(job)
            return job
        session.refresh(job)  # a worker claimed it meanwhile: fall through to the running case
    job.cancel_requested = True
    add_event(session, job_id=job.id, kind="cancel_requested", epoch=job.current_epoch)
    session.flush()
    return job


def claim(session: Session, *, job_id: uuid.UUID, worker: str) -> bool:
    """Atomically move a queued job to running; False for a duplicate message or cancelled job."""
    result = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == JobStatus.QUEUED)
        .values(
            status=JobStatus.RUNNING,
            attempt=Job.attempt + 1,
            started_at=_now(),
            heartbeat_at=_now(),
            worker=worker,
        )
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return False
    add_event(session, job_id=job_id, kind="started", worker=worker)
    return True


@dataclass(frozen=True)
class Outcome:
    """How a run ended, as the worker reports it."""

    status: JobStatus
    stop_reason: str
    epoch: int | None = None
    final_metrics: dict[str, Any] | None = None
    best_epoch: int | None = None
    best_metrics: dict[str, Any] | None = None
    error: str | None = None


def finish(session: Session, *, job_id: uuid.UUID, outcome: Outcome) -> None:
    """Record how a running job ended."""
    result = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == JobStatus.RUNNING)
        .values(
            status=outcome.status,
            finished_at=_now(),
            stop_reason=outcome.stop_reason,
            final_metrics=outcome.final_metrics,
            best_epoch=outcome.best_epoch,
            best_metrics=outcome.best_metrics,
            error=outcome.error,
        )
    )
    if result.rowcount == 1:  # type: ignore[attr-defined]
        data = {"reason": outcome.stop_reason} | ({"error": outcome.error} if outcome.error else {})
        add_event(session, job_id=job_id, kind=outcome.status.value, epoch=outcome.epoch, **data)
