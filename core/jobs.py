"""Job lifecycle: create, read for an owner, list, claim, cancel, finish, fail."""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from core import cross_validation
from core.errors import JobNotCancellable, JobNotFound
from core.pagination import Page, newest_first
from models import FINISHED_STATUSES, Job, JobEvent, JobKind, JobMetric, JobStatus, User

# events the training loop logs: a resumed attempt logs again those after its checkpoint
LOOP_EVENTS = ("epoch_milestone", "lr_reduced_on_plateau", "early_stopped")


def _now() -> datetime:
    return datetime.now(UTC)


def add_event(
    session: Session, *, job_id: uuid.UUID, kind: str, epoch: int | None = None, **data: Any
) -> None:
    session.add(JobEvent(job_id=job_id, kind=kind, epoch=epoch, data=data))


def spec_device(spec: dict[str, Any]) -> str:
    """The device a stored spec asks for (\"auto\" when it names none)."""
    return str(spec.get("training", {}).get("device", "auto"))


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
        device=spec_device(spec),
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
    """Cancel a queued or paused job at once; ask a running one to stop at its next batch."""
    if job.status in FINISHED_STATUSES:
        raise JobNotCancellable(f"job {job.id} already {job.status.value}")
    if job.status in (JobStatus.QUEUED, JobStatus.PAUSED):
        queued = session.execute(
            update(Job)
            .where(Job.id == job.id, Job.status.in_((JobStatus.QUEUED, JobStatus.PAUSED)))
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


def claim(session: Session, *, job_id: uuid.UUID, worker: str, lease_seconds: float) -> int | None:
    """Atomically move a queued job to running under a fresh lease; the new attempt number.

    None for a job that is not queued (a duplicate message, a cancelled or paused job, one
    another worker took). Epochs a dead attempt stored after the last checkpoint are dropped:
    the new attempt trains them again from that checkpoint.
    """
    now = _now()
    result = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == JobStatus.QUEUED, Job.kind == JobKind.TRAIN)
        .values(
            status=JobStatus.RUNNING,
            attempt=Job.attempt + 1,
            started_at=func.coalesce(Job.started_at, now),
            heartbeat_at=now,
            lease_expires_at=now + timedelta(seconds=lease_seconds),
            current_epoch=Job.checkpoint_epoch,
            pause_requested=False,
            worker=worker,
        )
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return None
    attempt, resume_epoch = session.execute(
        select(Job.attempt, Job.checkpoint_epoch).where(Job.id == job_id)
    ).one()
    forget_after(session, job_id=job_id, epoch=resume_epoch)
    data: dict[str, Any] = {"worker": worker, "attempt": attempt}
    if resume_epoch:
        data["resumed_from_epoch"] = resume_epoch
    add_event(session, job_id=job_id, kind="started", epoch=resume_epoch or None, **data)
    return int(attempt)


def forget_after(session: Session, *, job_id: uuid.UUID, epoch: int) -> None:
    """Drop the epochs and loop events a dead attempt stored after `epoch`: they run again."""
    session.execute(delete(JobMetric).where(JobMetric.job_id == job_id, JobMetric.epoch > epoch))
    session.execute(
        delete(JobEvent).where(
            JobEvent.job_id == job_id, JobEvent.kind.in_(LOOP_EVENTS), JobEvent.epoch > epoch
        )
    )


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
    run_seconds: float = 0.0


def finish(session: Session, *, job_id: uuid.UUID, attempt: int, outcome: Outcome) -> bool:
    """Record how attempt `attempt` of a running job ended; False if the job has moved on."""
    values: dict[str, Any] = {
        "status": outcome.status,
        "stop_reason": outcome.stop_reason,
        "final_metrics": outcome.final_metrics,
        "best_epoch": outcome.best_epoch,
        "best_metrics": outcome.best_metrics,
        "error": outcome.error,
        "lease_expires_at": None,
        "run_seconds": Job.run_seconds + outcome.run_seconds,
    }
    if outcome.status == JobStatus.PAUSED:
        values |= {"pause_requested": False, "queued_at": None}
    else:
        values["finished_at"] = _now()
    result = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == JobStatus.RUNNING, Job.attempt == attempt)
        .values(**values)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return False
    data = {"reason": outcome.stop_reason} | ({"error": outcome.error} if outcome.error else {})
    add_event(session, job_id=job_id, kind=outcome.status.value, epoch=outcome.epoch, **data)
    if outcome.status in FINISHED_STATUSES:
        # after the child's UPDATE, in its transaction: the parent row lock orders siblings
        cross_validation.child_finished(session, child_id=job_id)
    return True
