"""The folds of a cross-validation job: its child jobs, one per fold."""

import uuid

from fastapi import APIRouter

from api.deps import CurrentUser, SessionDep
from api.errors import error_responses
from api.schemas.folds import FoldRead, FoldsRead
from core import cross_validation, jobs
from core.errors import JobNotFound, NotAuthenticated
from models import JobKind

router = APIRouter(tags=["jobs"], responses=error_responses(NotAuthenticated, JobNotFound))


@router.get("/jobs/{job_id}/folds", response_model=FoldsRead)
def read_job_folds(job_id: uuid.UUID, session: SessionDep, user: CurrentUser) -> FoldsRead:
    """A cross-validation job's child jobs in fold order, with their status and final metrics."""
    job = jobs.get_for_owner(session, job_id=job_id, user=user)
    if job.kind != JobKind.CROSS_VALIDATION:
        raise JobNotFound(f"job {job_id} is no cross-validation job: it has no folds")
    children = cross_validation.children_of(session, parent_id=job.id)
    return FoldsRead(job_id=job.id, folds=[FoldRead.model_validate(c) for c in children])
