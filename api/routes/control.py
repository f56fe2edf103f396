"""Pause, resume and clone jobs."""

import uuid

from fastapi import APIRouter

from api.deps import CurrentUser, SessionDep
from api.errors import error_responses
from api.schemas.control import JobClone
from api.schemas.jobs import JobRead
from api.spec_checks import check_spec
from core import control, jobs, scheduling
from core.datasets import DatasetNotFound
from core.errors import (
    JobNotFound,
    JobNotPausable,
    JobNotResumable,
    NotAuthenticated,
    QueueLimitReached,
    SpecRejected,
)
from models import Job
from worker.enqueue import enqueue_training

router = APIRouter(prefix="/jobs", tags=["jobs"], responses=error_responses(NotAuthenticated))


@router.post(
    "/{job_id}/pause",
    response_model=JobRead,
    responses=error_responses(JobNotFound, JobNotPausable),
)
def pause_job(job_id: uuid.UUID, session: SessionDep, user: CurrentUser) -> Job:
    """Pause a job: a queued one leaves the queue, a running one checkpoints and stops."""
    job = jobs.get_for_owner(session, job_id=job_id, user=user)
    control.request_pause(session, job=job)
    session.commit()
    return job


@router.post(
    "/{job_id}/resume",
    response_model=JobRead,
    responses=error_responses(JobNotFound, JobNotResumable),
)
def resume_job(job_id: uuid.UUID, session: SessionDep, user: CurrentUser) -> Job:
    """Put a paused job back in the queue; it continues from its last checkpoint."""
    job = jobs.get_for_owner(session, job_id=job_id, user=user)
    control.resume(session, job=job)
    session.commit()  # commit before the wake-up: the worker must find it queued
    enqueue_training(job.id)
    return job


@router.post(
    "/{job_id}/clone",
    response_model=JobRead,
    status_code=201,
    responses=error_responses(JobNotFound, SpecRejected, DatasetNotFound, QueueLimitReached),
)
def clone_job(job_id: uuid.UUID, body: JobClone, session: SessionDep, user: CurrentUser) -> Job:
    """Queue a copy of a job, its spec changed by the given overrides."""
    job = jobs.get_for_owner(session, job_id=job_id, user=user)
    spec = control.cloned_spec(session, job=job, user=user, overrides=body.overrides)
    check_spec(spec)
    scheduling.check_queue_limit(session, user=user)
    new = control.clone(
        session,
        job=job,
        user=user,
        spec=spec,
        name=body.name,
        priority=body.priority,
        max_runtime_s=body.max_runtime_s,
    )
    session.commit()  # commit before enqueue: the worker must find the row
    enqueue_training(new.id)
    return new
