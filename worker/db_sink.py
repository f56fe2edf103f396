"""DbMetricSink: buffers epochs and flushes them with a heartbeat, reading cancel requests."""

import logging
import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select, update
from sqlalchemy.exc import OperationalError

from core import metrics
from core.db import session_scope
from core.metrics import EpochRecord, EventRecord
from models import Job

log = logging.getLogger(__name__)


class DbMetricSink:
    """Writes epochs every flush_seconds at most (and on flush()): the loop never waits on SQL."""

    def __init__(self, job_id: uuid.UUID, *, engine: Engine, flush_seconds: float) -> None:
        self.job_id = job_id
        self._engine = engine
        self._flush_seconds = flush_seconds
        self._buffer: list[EpochRecord] = []
        self._events: list[EventRecord] = []
        self._last_flush = time.monotonic()
        self._cancel_requested = False

    def log_epoch(self, epoch: int, metrics: Mapping[str, float], step: int) -> None:
        self._buffer.append(EpochRecord(epoch=epoch, step=step, values=dict(metrics)))
        if time.monotonic() - self._last_flush >= self._flush_seconds:
            try:
                self.flush()
            except OperationalError:
                # the database is busy or away: training goes on, the next flush retries
                log.warning("job %s: metrics flush failed, retrying later", self.job_id)
                self._last_flush = time.monotonic()

    def log_event(self, kind: str, epoch: int, data: Mapping[str, Any]) -> None:
        self._events.append(EventRecord(kind=kind, epoch=epoch, data=dict(data)))

    def flush(self) -> None:
        """Store buffered epochs, advance current_epoch and the heartbeat, read the cancel flag.

        The buffer is emptied only once the transaction commits; rows stored by a flush whose
        commit failed half-way are skipped by the insert-or-ignore of the retry.
        """
        records, events = list(self._buffer), list(self._events)
        with session_scope(self._engine) as session:
            metrics.write_epochs(session, job_id=self.job_id, records=records)
            metrics.write_events(session, job_id=self.job_id, events=events)
            values: dict[str, object] = {"heartbeat_at": datetime.now(UTC)}
            if records:
                values["current_epoch"] = records[-1].epoch
            session.execute(update(Job).where(Job.id == self.job_id).values(**values))
            cancel = session.scalar(select(Job.cancel_requested).where(Job.id == self.job_id))
        del self._buffer[: len(records)], self._events[: len(events)]
        self._cancel_requested = bool(cancel)
        self._last_flush = time.monotonic()

    def cancel_requested(self) -> bool:
        return self._cancel_requested
