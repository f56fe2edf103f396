"""Submit, list, read and cancel training jobs."""

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response
from sqlalchemy.exc import IntegrityError

from api.deps import CurrentUser, SessionDep
from api.errors import error_responses
from api.schemas.jobs import JobCreate, JobCreated, JobDetail, JobPage, JobRead, JobValidation
from api.schemas.metrics import EventRead
from api.spec_checks import check_spec, validate
from core import cross_validation, datasets, idempotency, jobs, metrics, scheduling
from core.datasets import DatasetNotFound
from core.errors import (
    InvalidCursor,
    JobNotCancellable,
    JobNotFound,
    NotAuthenticated,
    QueueLimitReached,
    SpecRejected,
)
from core.idempotency import IdempotencyKeyReused
from core.metrics import ParameterRejected
from core.settings import get_settings
from models import FINISHED_STATUSES, Job, JobKind, JobStatus
from worker.enqueue import enqueue_training

router = APIRouter(prefix="/jobs", tags=["jobs"], responses=error_responses(NotAuthenticated))


IdempotencyKey = Annotated[
    str | None,
    Header(
        alias=idempotency.HEADER,
        min_length=1,
        max_length=idempotency.MAX_KEY_LENGTH,
        description="sending the same key and body again returns the first job, queued once",
    ),
]
REPLAYED: dict[int | str, dict[str, Any]] = {
    200: {"model": JobCreated, "description": "the job an earlier request with this key created"}
}


def _created(job: Job, warnings: list[str]) -> JobCreated:
    return JobCreated(**JobRead.model_validate(job).model_dump(), warnings=warnings)


@router.post(
    "",
    response_model=JobCreated,
    status_code=201,
    responses=error_responses(
        SpecRejected, DatasetNotFound, IdempotencyKeyReused, QueueLimitReached
    )
    | REPLAYED,
)
def create_job(
    body: JobCreate,
    session: SessionDep,
    user: CurrentUser,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> JobCreated:
    """Queue a training job.

    With an Idempotency-Key, a retry with the same key and body answers 200 with the job the
    first request created (without its warnings) and queues nothing; another body is a 422.
    """
    sha256 = idempotency.request_sha256(body.model_dump(mode="json")) if idempotency_key else ""
    if idempotency_key is not None:
        found = idempotency.find(session, owner_id=user.id, key=idempotency_key, sha256=sha256)
        if found is not None:
            response.status_code = 200
            return _created(found, [])
    spec = datasets.resolve_spec(session, spec=body.spec, user=user)
    warnings = check_spec(spec)
    scheduling.check_queue_limit(session, user=user)
    options: dict[str, Any] = {
        "dataset_id": datasets.upload_id(spec),
        "priority": body.priority,
        "max_attempts": body.max_attempts or get_settings().MAX_ATTEMPTS,
        "max_runtime_s": _max_runtime(body.max_runtime_s),
    }
    spec_json = spec.model_dump(mode="json")
    split = spec.dataset.split
    children: list[Job] = []
    try:
        if split is not None and split.folds and split.fold is None:
            job, children = cross_validation.create(
                session, owner_id=user.id, name=body.name, spec_json=spec_json, **options
            )
        else:
            job = jobs.create(
                session,
                owner_id=user.id,
                name=body.name,
                spec=spec_json,
                epochs=spec.training.epochs,
                **options,
            )
        if idempotency_key is not None:
            idempotency.stamp(session, job=job, key=idempotency_key, sha256=sha256)
        session.commit()  # commit before enqueue: the worker must find the row
    except IntegrityError:
        # a concurrent request with the same key won the unique index: answer with its job
        session.rollback()
        if idempotency_key is None:
            raise
        found = idempotency.find(session, owner_id=user.id, key=idempotency_key, sha256=sha256)
        if found is None:
            raise
        response.status_code = 200
        return _created(found, warnings)
    for queued in children or [job]:  # a cross-validation parent itself is never queued
        enqueue_training(queued.id)
    return _created(job, warnings)


def _max_runtime(requested: int | None) -> int:
    """The job's time limit: the request's, capped by GRADQ_MAX_RUNTIME_SECONDS, its default."""
    cap = get_settings().MAX_RUNTIME_SECONDS
    if requested is not None and requested > cap:
        message = f"at most {cap} seconds (GRADQ_MAX_RUNTIME_SECONDS)"
        raise ParameterRejected("max_runtime_s", message, location="body")
    return requested or cap


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
    if any(item.status == JobStatus.QUEUED for item in items):
        # one look at the queue for the whole page
        places = {
            entry.job.id: entry for entry in scheduling.queue_view(session, now=datetime.now(UTC))
        }
        for item in items:
            if (entry := places.get(item.id)) is not None:
                item.queue_position = entry.position
                item.estimated_start_at = entry.estimated_start_at
    return JobPage(items=items, next_cursor=page.next_cursor)


@router.get("/{job_id}", response_model=JobDetail, responses=error_responses(JobNotFound))
def read_job(job_id: uuid.UUID, session: SessionDep, user: CurrentUser) -> JobDetail:
    """One job: status, progress, error, final metrics and its events."""
    job = jobs.get_for_owner(session, job_id=job_id, user=user)
    events = [EventRead.model_validate(e) for e in metrics.read_events(session, job_id=job.id)]
    detail = JobDetail(**JobRead.model_validate(job).model_dump(), events=events)
    if job.status == JobStatus.QUEUED:
        place = scheduling.position_of(session, job_id=job.id, now=datetime.now(UTC))
        detail.queue_position, detail.estimated_start_at = place or (None, None)
    return detail


@router.post(
    "/{job_id}/cancel",
    response_model=JobRead,
    responses=error_responses(JobNotFound, JobNotCancellable),
)
def cancel_job(job_id: uuid.UUID, session: SessionDep, user: CurrentUser) -> Job:
    """Cancel a job: a queued one never starts, a running one stops after its current epoch."""
    job = jobs.get_for_owner(session, job_id=job_id, user=user)
    if job.kind == JobKind.CROSS_VALIDATION:
        cross_validation.cancel(session, parent=job)
    else:
        jobs.request_cancel(session, job=job)
        if job.parent_id is not None and job.status in FINISHED_STATUSES:
            cross_validation.child_finished(session, child_id=job.id)
    session.commit()
    return job
