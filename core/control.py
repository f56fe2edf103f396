"""Job control beyond cancel: pause, resume, and clone with overrides."""

import copy
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import update
from sqlalchemy.orm import Session

from core import datasets, jobs
from core.datasets import _field, _rejected
from core.errors import JobNotPausable, JobNotResumable
from models import Job, JobEvent, JobStatus, User
from training.spec import TrainingSpec

TAG_ERRORS = {"union_tag_invalid", "union_tag_not_found"}


def _now() -> datetime:
    return datetime.now(UTC)


def _pause_queued(session: Session, job: Job) -> bool:
    paused = session.execute(
        update(Job)
        .where(Job.id == job.id, Job.status == JobStatus.QUEUED)
        .values(status=JobStatus.PAUSED)
    )
    session.refresh(job)  # a worker may have claimed it meanwhile
    if paused.rowcount != 1:  # type: ignore[attr-defined]
        return False
    jobs.add_event(session, job_id=job.id, kind="paused", epoch=job.checkpoint_epoch or None)
    return True


def request_pause(session: Session, *, job: Job) -> Job:
    """Pause a queued job at once; ask a running one to checkpoint and stop at its next epoch."""
    if job.status == JobStatus.QUEUED and _pause_queued(session, job):
        return job
    if job.status != JobStatus.RUNNING:
        raise JobNotPausable(f"job {job.id} is {job.status.value}; only a queued or running job")
    if not job.pause_requested:
        job.pause_requested = True
        jobs.add_event(session, job_id=job.id, kind="pause_requested", epoch=job.current_epoch)
        session.flush()
    return job


def resume(session: Session, *, job: Job) -> Job:
    """Put a paused job back in the queue; it restarts from its last checkpoint."""
    resumed = session.execute(
        update(Job)
        .where(Job.id == job.id, Job.status == JobStatus.PAUSED)
        .values(status=JobStatus.QUEUED, queued_at=_now(), pause_requested=False)
    )
    session.refresh(job)
    if resumed.rowcount != 1:  # type: ignore[attr-defined]
        raise JobNotResumable(f"job {job.id} is {job.status.value}; only a paused job resumes")
    jobs.add_event(session, job_id=job.id, kind="resumed", epoch=job.checkpoint_epoch or None)
    return job


def merge(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """base with overrides merged in: mappings key by key, anything else replaced.

    A mapping that names another "type" (say another optimizer) replaces the old one whole,
    since the old type's parameters mean nothing to the new one.
    """
    merged = copy.deepcopy(dict(base))
    for key, value in overrides.items():
        current = merged.get(key)
        if (
            isinstance(current, Mapping)
            and isinstance(value, Mapping)
            and _same_type(current, value)
        ):
            merged[key] = merge(current, value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _same_type(base: Mapping[str, Any], override: Mapping[str, Any]) -> bool:
    return "type" not in override or override["type"] == base.get("type")


def _loc(loc: tuple[Any, ...], error_type: str, raw: Mapping[str, Any]) -> list[str | int]:
    """The field as the user wrote it; an unknown union tag is the field "type" itself."""
    path = _field(loc, raw)
    return [*path, "type"] if error_type in TAG_ERRORS else path


def cloned_spec(
    session: Session, *, job: Job, user: User, overrides: Mapping[str, Any]
) -> TrainingSpec:
    """job's spec with overrides merged in, checked like a submission (422 naming the field)."""
    raw = merge(job.spec, overrides)
    try:
        spec = TrainingSpec.model_validate(raw)
    except ValidationError as exc:
        problems = [(_loc(e["loc"], e["type"], raw), e["msg"], e["type"]) for e in exc.errors()]
        raise _rejected(problems) from exc
    return datasets.resolve_spec(session, spec=spec, user=user)


def clone(
    session: Session,
    *,
    job: Job,
    user: User,
    spec: TrainingSpec,
    name: str | None = None,
    priority: int | None = None,
    max_runtime_s: int | None = None,
) -> Job:
    """A queued copy of job training spec (see cloned_spec), with job's settings unless given.

    The caller commits, then calls worker.enqueue.enqueue_training(new.id).
    """
    new = jobs.create(
        session,
        owner_id=user.id,
        name=job.name if name is None else name,
        spec=spec.model_dump(mode="json"),
        epochs=spec.training.epochs,
        dataset_id=datasets.upload_id(spec),
        priority=job.priority if priority is None else priority,
        max_attempts=job.max_attempts,
        max_runtime_s=job.max_runtime_s if max_runtime_s is None else max_runtime_s,
    )
    session.add(JobEvent(job_id=new.id, kind="cloned_from", data={"job_id": str(job.id)}))
    session.flush()
    return new
