"""When queued jobs may start: the running jobs' measured pace and a simulation of the workers."""

import heapq
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import Job, JobKind, JobMetric, JobStatus

EPOCH_SECONDS_KEY = "seconds"


@dataclass(frozen=True)
class RunningJob:
    id: uuid.UUID
    epochs: int
    current_epoch: int
    started_at: datetime | None
    max_runtime_s: int | None


def running_jobs(session: Session) -> list[RunningJob]:
    query = select(Job.id, Job.epochs, Job.current_epoch, Job.started_at, Job.max_runtime_s).where(
        Job.status == JobStatus.RUNNING, Job.kind == JobKind.TRAIN
    )
    return [RunningJob(*row) for row in session.execute(query)]


def epoch_seconds(
    session: Session, running: Sequence[RunningJob], now: datetime
) -> dict[uuid.UUID, float]:
    """Seconds per epoch of each running job that has finished an epoch.

    The mean of its "seconds" metric; else the time since it started over its current epoch.
    """
    measured = (
        select(JobMetric.job_id, func.avg(JobMetric.value))
        .where(
            JobMetric.key == EPOCH_SECONDS_KEY,
            JobMetric.value.is_not(None),
            JobMetric.job_id.in_([job.id for job in running]),
        )
        .group_by(JobMetric.job_id)
    )
    pace = {job_id: float(mean) for job_id, mean in session.execute(measured)}
    for job in running:
        if job.id not in pace and job.current_epoch > 0 and job.started_at is not None:
            pace[job.id] = (now - job.started_at).total_seconds() / job.current_epoch
    return pace


def remaining_seconds(job: RunningJob, pace: float | None, now: datetime) -> float | None:
    """Seconds until a running job ends: its epochs left at its pace, within its time limit."""
    if pace is None:
        return None
    left = max(job.epochs - job.current_epoch, 0) * pace
    if job.max_runtime_s is not None and job.started_at is not None:
        budget = job.max_runtime_s - (now - job.started_at).total_seconds()
        left = min(left, max(budget, 0.0))
    return left


def start_offsets(
    free_in: Sequence[float | None], durations: Sequence[float | None]
) -> list[float | None]:
    """Seconds from now until each job, taken in order, gets the first worker that frees up.

    free_in has one entry per worker: the seconds until it is free, or None when unknown (such
    a worker is never counted on). A job of unknown duration holds its worker for good.
    """
    heap = [seconds for seconds in free_in if seconds is not None]
    heapq.heapify(heap)
    offsets: list[float | None] = []
    for duration in durations:
        if not heap:
            offsets.append(None)
            continue
        start = heapq.heappop(heap)
        offsets.append(start)
        if duration is not None:
            heapq.heappush(heap, start + duration)
    return offsets
