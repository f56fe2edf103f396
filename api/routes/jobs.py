"""Submit, list, read and cancel training jobs."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import CurrentUser, SessionDep
from api.errors import error_responses
from api.schemas.jobs import JobCreate, JobCreated, JobDetail, JobPage, JobRead, JobValidation
from api.schemas.metrics import EventRead
from api.spec_checks import check_spec, validate
from core import datasets, jobs, metrics
from core.datasets import DatasetNotFound
from core.errors import (
    InvalidCursor,
    JobNotCancellable,
    JobNotFound,
    NotAuthenticated,
    SpecRejected,
)
from core.settings import get_settings
from models import Job, JobStatus
from worker.enqueue import enqueue_training

router = APIRouter(prefix="/jobs", tags=["jobs"], responses=error_responses(NotAuthenticated))


@router.post(
    "",
    response_model=JobCreated,
    status_code=201,
    responses=error_responses(SpecRejected, DatasetNotFound),
)
def create_job(body: JobCreate, session: SessionDep, user: CurrentUser) -> JobCreated:
    """Queue a training job."""
    spec = datasets.resolve_spec(session, spec=body.spec, user=user)
    warnings = check_spec(spec)
    job = jobs.create(
        session,
        owner_id=user.id,
        name=body.name,
        spec=spec.model_dump(mode="json"),
        epochs=spec.training.epochs,
        dataset_id=datasets.upload_id(spec),
        priority=body.priority,
        max_attempts=body.max_attempts or get_settings().MAX_ATTEMPTS,
        max_runtime_s=body.max_runtime_s,
    )
    session.commit()  # commit before enqueue: the worker must find the row
    enqueue_training(job.id)
    read = JobRead.model_validate(job)
    return JobCreated(**read.model_dump(), warnings=warnings)


@router.post(
    "/validate",
    response_model=JobValidation,
    responses=error_responses(SpecRejected, DatasetNotFound),
)
def validate_job(body: JobCreate, session: SessionDep, user: CurrentUser) -> JobValidation:
    """Check a spec and dry-run it on a few samples on the CPU; nothing is stored."""
    return validate(datasets.resolve_spec(session, spec=body.spec, user=user))


@router.get("", response_model=JobPage, responses=error_responses(InvalidCursor))
def list_jobs(
    session: SessionDep,
    user: CurrentUser,
    status: JobStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
) -> JobPage:
    """The caller's jobs, newest first."""
    page = jobs.list_for_owner(session, user=user, status=status, limit=limit, cursor=cursor)
    items = [JobRead.model_validate(job) for job in page.items]
    return JobPage(items=items, next_cursor=page.next_cursor)


@router.get("/{job_id}", response_model=JobDetail, responses=error_responses(JobNotFound))
def read_job(job_id: uuid.UUID, session: SessionDep, user: CurrentUser) -> JobDetail:
    """One job: status, progress, error, final metrics and its events."""
    job = jobs.get_for_owner(session, job_id=job_id, user=user)
    events = [EventRead.model_validate(e) for e in metrics.read_events(session, job_id=job.id)]
    return JobDetail(**JobRead.model_validate(job).model_dump(), events=events)


@router.post(
    "/{job_id}/cancel",
    response_model=JobRead,
    responses=error_responses(JobNotFound, JobNotCancellable),
)
def cancel_job(job_id: uuid.UUID, session: SessionDep, user: CurrentUser) -> Job:
    """Cancel a job: a queued one never starts, a running one stops after its current epoch."""
    job = jobs.get_for_owner(session, job_id=job_id, user=user)
    jobs.request_cancel(session, job=job)
    session.commit()
    return job
