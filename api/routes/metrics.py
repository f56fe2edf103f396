"""Per-epoch metrics of a job."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.deps import CurrentUser, SessionDep
from api.errors import error_responses
from api.schemas.metrics import EpochMetrics, EventRead, MetricsRead
from core import jobs, metrics
from core.errors import JobNotFound, NotAuthenticated
from models import JobEvent

router = APIRouter(tags=["metrics"], responses=error_responses(NotAuthenticated))

LR_PREFIX = "lr/"


def _epoch_item(row: dict[str, Any]) -> EpochMetrics:
    """Gather the per-group lr/<i> keys into one `lr` list."""
    lr_keys = sorted((key for key in row if key.startswith(LR_PREFIX)), key=lambda k: int(k[3:]))
    rest = {key: value for key, value in row.items() if not key.startswith(LR_PREFIX)}
    return EpochMetrics(lr=[row[key] for key in lr_keys], **rest)


@router.get(
    "/jobs/{job_id}/metrics", response_model=MetricsRead, responses=error_responses(JobNotFound)
)
def read_job_metrics(
    job_id: uuid.UUID,
    session: SessionDep,
    user: CurrentUser,
    since_epoch: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 10_000,
) -> MetricsRead:
    """Epochs after since_epoch, oldest first."""
    jobs.get_for_owner(session, job_id=job_id, user=user)
    rows = metrics.read_epochs(session, job_id=job_id, since_epoch=since_epoch, limit=limit)
    next_since = rows[-1]["epoch"] if rows else since_epoch
    return MetricsRead(items=[_epoch_item(row) for row in rows], next_since_epoch=next_since)


@router.get(
    "/jobs/{job_id}/events", response_model=list[EventRead], responses=error_responses(JobNotFound)
)
def read_job_events(
    job_id: uuid.UUID,
    session: SessionDep,
    user: CurrentUser,
    after_id: Annotated[int, Query(ge=0)] = 0,
) -> list[JobEvent]:
    """The job's events (queued, started, lr reduced on plateau, early stop, end), oldest first."""
    jobs.get_for_owner(session, job_id=job_id, user=user)
    return metrics.read_events(session, job_id=job_id, after_id=after_id)
