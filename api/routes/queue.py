"""The queue: every queued job in the order it will run, with estimated starts."""

from datetime import UTC, datetime

from fastapi import APIRouter

from api.deps import CurrentUser, SessionDep
from api.errors import error_responses
from api.schemas.queue import QueueEntryRead, QueueRead
from core import scheduling
from core.errors import NotAuthenticated
from models import User

router = APIRouter(prefix="/queue", tags=["queue"], responses=error_responses(NotAuthenticated))


def _entry(entry: scheduling.QueueEntry, user: User) -> QueueEntryRead:
    """Others' jobs show their place only: names and owners are for admins."""
    job, mine = entry.job, entry.job.owner_id == user.id
    return QueueEntryRead(
        position=entry.position,
        job_id=job.id,
        name=job.name if mine or user.is_admin else None,
        owner=job.owner_name if user.is_admin else None,
        mine=mine,
        priority=job.priority,
        epochs=job.epochs,
        queued_at=job.queued_at,
        estimated_start_at=entry.estimated_start_at,
    )


@router.get("", response_model=QueueRead)
def read_queue(session: SessionDep, user: CurrentUser) -> QueueRead:
    """Every queued job in the order it will run, with an estimated start time."""
    view = scheduling.queue_view(session, now=datetime.now(UTC))
    return QueueRead(items=[_entry(entry, user) for entry in view])
