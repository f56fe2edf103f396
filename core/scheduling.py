"""The fair order of the queue: what a worker may claim next, and where each queued job stands.

Order: priority (higher first); among equal priorities the owner with the least recent usage,
then each owner's turn (an owner's oldest queued job is their turn 0, the next turn 1, ...: owners
alternate rather than one backlog going first), then the owner with fewer running jobs, then the
oldest queued_at, then the id.

Usage is an owner's training seconds in the last FAIR_SHARE_WINDOW_SECONDS: Job.run_seconds
(the seconds of every attempt that ended and reported them) of each job finished, paused or
requeued within the window, whole; plus, for a running job, its current attempt's time so far
(since its latest "started" event, within the window). Time spent waiting paused or queued
never counts; an attempt whose worker died without reporting is not counted.
"""

import statistics
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, case, func, or_, select
from sqlalchemy.orm import Session

from core import estimates
from core.errors import QueueLimitReached
from core.settings import get_settings
from models import Job, JobEvent, JobKind, JobStatus, User

WAITING_STATUSES = (JobStatus.QUEUED, JobStatus.PAUSED)
STARTED_EVENT = "started"
_LONG_AGO = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Waiting:
    """A queued training job, as the scheduler sees it."""

    id: uuid.UUID
    owner_id: uuid.UUID
    owner_name: str
    name: str | None
    priority: int
    queued_at: datetime | None
    device: str
    epochs: int
    checkpoint_epoch: int


@dataclass(frozen=True)
class QueueEntry:
    """A queued job's place in the fair order and when it may start."""

    position: int
    job: Waiting
    estimated_start_at: datetime | None


@dataclass
class Usage:
    """Per owner: seconds of recent usage and jobs running now."""

    seconds: dict[uuid.UUID, float]
    running: Counter[uuid.UUID]


def _waiting(session: Session) -> list[Waiting]:
    query = (
        select(
            Job.id,
            Job.owner_id,
            User.name,
            Job.name,
            Job.priority,
            Job.queued_at,
            Job.device,
            Job.epochs,
            Job.checkpoint_epoch,
        )
        .join(User, User.id == Job.owner_id)
        .where(Job.status == JobStatus.QUEUED, Job.kind == JobKind.TRAIN)
    )
    return [Waiting(*row) for row in session.execute(query)]


def _attempt_start() -> ColumnElement[datetime]:
    """When a running job's current attempt began: its latest "started" event."""
    latest = select(func.max(JobEvent.at)).where(
        JobEvent.job_id == Job.id, JobEvent.kind == STARTED_EVENT
    )
    return func.coalesce(latest.scalar_subquery(), Job.started_at)


def usage(session: Session, *, owner_ids: Iterable[uuid.UUID], now: datetime) -> Usage:
    """Each owner's recent usage (see the module docstring) and running jobs, in one query."""
    found = Usage(seconds=defaultdict(float), running=Counter())
    owners = set(owner_ids)
    if not owners:
        return found
    since = now - timedelta(seconds=get_settings().FAIR_SHARE_WINDOW_SECONDS)
    running = Job.status == JobStatus.RUNNING
    query = select(
        Job.owner_id,
        Job.status,
        Job.run_seconds,
        case((running, _attempt_start()), else_=None),
    ).where(
        Job.owner_id.in_(owners),
        Job.kind == JobKind.TRAIN,
        or_(running, func.coalesce(Job.finished_at, Job.heartbeat_at) >= since),
    )
    for owner_id, status, run_seconds, attempt_start in session.execute(query):
        seconds = run_seconds or 0.0
        if attempt_start is not None:
            seconds += max(0.0, (now - max(attempt_start, since)).total_seconds())
        found.seconds[owner_id] += seconds
        found.running[owner_id] += status == JobStatus.RUNNING
    return found


def fair_order(jobs: Iterable[Waiting], used: Usage) -> list[Waiting]:
    """jobs sorted as the module docstring says."""

    by_age = sorted(jobs, key=lambda job: (job.queued_at or _LONG_AGO, job.id))
    turn: dict[uuid.UUID, int] = {}
    rank: dict[uuid.UUID, int] = {}
    for job in by_age:
        rank[job.id] = turn.get(job.owner_id, 0)
        turn[job.owner_id] = rank[job.id] + 1

    def key(job: Waiting) -> tuple[int, float, int, int, datetime, uuid.UUID]:
        owner = job.owner_id
        seconds = used.seconds.get(owner, 0.0)
        return (
            -job.priority,
            seconds,
            rank[job.id],
            used.running[owner],
            job.queued_at or _LONG_AGO,
            job.id,
        )

    return sorted(by_age, key=key)


def _fair_queue(session: Session, *, now: datetime) -> tuple[list[Waiting], Usage]:
    jobs = _waiting(session)
    used = usage(session, owner_ids={job.owner_id for job in jobs}, now=now)
    return fair_order(jobs, used), used


def claimable_ids(
    session: Session, *, now: datetime, has_cuda: bool, limit: int = 20
) -> list[uuid.UUID]:
    """Queued training jobs a worker may claim, best first.

    An owner appears only as often as MAX_RUNNING_PER_USER leaves them room, so a claim that
    fails (another worker took that job) cannot push them past it; jobs asking for CUDA wait
    for a worker that has it.
    """
    order, used = _fair_queue(session, now=now)
    cap = get_settings().MAX_RUNNING_PER_USER
    taken = Counter(used.running)
    ids: list[uuid.UUID] = []
    for job in order:
        if (job.device == "cuda" and not has_cuda) or taken[job.owner_id] >= cap:
            continue
        taken[job.owner_id] += 1
        ids.append(job.id)
        if len(ids) == limit:
            break
    return ids


def check_queue_limit(session: Session, *, user: User) -> None:
    """QueueLimitReached when user already has MAX_QUEUED_PER_USER queued or paused jobs."""
    limit = get_settings().MAX_QUEUED_PER_USER
    waiting = session.scalar(
        select(func.count())
        .select_from(Job)
        .where(Job.owner_id == user.id, Job.status.in_(WAITING_STATUSES))
    )
    if (waiting or 0) >= limit:
        raise QueueLimitReached(
            f"you already have {waiting} queued or paused jobs and the limit is {limit} "
            "(GRADQ_MAX_QUEUED_PER_USER); wait for some to start or cancel some"
        )


def queue_view(session: Session, *, now: datetime) -> list[QueueEntry]:
    """Every queued training job in fair order, with an estimated start.

    The estimate assumes as many workers as jobs are running now (at least one), each taking
    the next job in this order as soon as it is free, regardless of per-user limits and
    devices. A running job ends after its remaining epochs at its own measured pace (or at its
    max_runtime_s); a queued job runs its epochs not yet checkpointed at the median pace of the
    running jobs. Where no pace is known the estimate is None.
    """
    order, _ = _fair_queue(session, now=now)
    running = estimates.running_jobs(session)
    pace = estimates.epoch_seconds(session, running, now)
    typical = statistics.median(pace.values()) if pace else None
    free_in = [estimates.remaining_seconds(job, pace.get(job.id), now) for job in running]
    durations = [
        None if typical is None else max(job.epochs - job.checkpoint_epoch, 0) * typical
        for job in order
    ]
    offsets = estimates.start_offsets(free_in or [0.0], durations)
    return [
        QueueEntry(
            position=position,
            job=job,
            estimated_start_at=None if offset is None else now + timedelta(seconds=offset),
        )
        for position, (job, offset) in enumerate(zip(order, offsets, strict=True), start=1)
    ]


def position_of(
    session: Session, *, job_id: uuid.UUID, now: datetime
) -> tuple[int, datetime | None] | None:
    """A queued job's 1-based place in the queue and its estimated start; None if not queued."""
    for entry in queue_view(session, now=now):
        if entry.job.id == job_id:
            return entry.position, entry.estimated_start_at
    return None
