"""The sweeper: recovers jobs whose worker died and re-sends lost wake-ups.

Every worker runs one in a thread; several at once are safe because each change is a
conditional UPDATE. The database is the queue of record, the broker only wakes workers.
"""

import logging
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import torch
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from core import leases, scheduling
from core.db import get_engine, session_scope
from core.settings import get_settings
from models import JobStatus
from worker.enqueue import enqueue_training

log = logging.getLogger(__name__)


@dataclass
class Sweep:
    """What one sweep did."""

    requeued: list[uuid.UUID] = field(default_factory=list)
    ended: list[uuid.UUID] = field(default_factory=list)
    woken: list[uuid.UUID] = field(default_factory=list)


def sweep(engine: Engine | None = None, *, now: datetime | None = None) -> Sweep:
    """Requeue or end jobs whose lease expired; wake workers for queued jobs left waiting."""
    engine = engine or get_engine()
    settings = get_settings()
    now = now or datetime.now(UTC)
    done = Sweep()
    with session_scope(engine) as session:
        for found in leases.recover_expired(session, now=now):
            target = done.requeued if found.status == JobStatus.QUEUED else done.ended
            target.append(found.job_id)
        done.woken = leases.unwoken(
            session, older_than=timedelta(seconds=settings.RESEND_SECONDS), now=now
        )
    for job_id in done.ended:
        log.warning("job=%s event=ended reason=lease_expired", job_id)
    for job_id in done.requeued:
        log.warning("job=%s event=requeued reason=lease_expired", job_id)
        enqueue_training(job_id)
    for job_id in done.woken:
        enqueue_training(job_id)
    return done


def wake_next(engine: Engine | None = None) -> None:
    """Send a wake-up for the next job in line, if one waits (after a job leaves a slot)."""
    engine = engine or get_engine()
    with session_scope(engine) as session:
        waiting = scheduling.claimable_ids(
            session, now=datetime.now(UTC), has_cuda=torch.cuda.is_available(), limit=1
        )
    if waiting:
        enqueue_training(waiting[0])


class Sweeper:
    """Runs sweep() every `interval` seconds in a daemon thread until stop()."""

    def __init__(self, interval: float) -> None:
        self._interval = interval
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="gradq-sweeper", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()

    def _loop(self) -> None:
        while True:
            try:
                sweep()
            except OperationalError:
                log.warning("event=sweep_retry reason=database_unavailable")
            except Exception:
                log.exception("event=sweep_failed")
            if self._stopped.wait(self._interval):
                return
