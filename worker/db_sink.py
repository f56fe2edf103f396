"""DbMetricSink: buffers epochs and flushes them under the attempt's lease."""

import logging
import threading
import time
import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from core import leases, metrics
from core.db import database_unavailable, session_scope
from core.leases import Flags, LeaseLost
from core.metrics import EpochRecord, EventRecord

log = logging.getLogger(__name__)


class DbMetricSink:
    """Writes epochs every flush_seconds at most (and on flush()).

    While a worker.attempt.Heartbeat flushes it from its thread (in_background), log_epoch only
    buffers: the loop never waits on SQL. Flushes take a lock, so one runs at a time.

    Every flush renews the attempt's lease in the same transaction and is refused once the job
    has moved on to another attempt or status (LeaseLost), so a dead attempt writes nothing.
    """

    def __init__(
        self,
        job_id: uuid.UUID,
        *,
        engine: Engine,
        flush_seconds: float,
        attempt: int,
        lease_seconds: float,
    ) -> None:
        self.job_id = job_id
        self.attempt = attempt
        self._engine = engine
        self.flush_seconds = flush_seconds
        self.lease_seconds = lease_seconds
        self._buffer: list[EpochRecord] = []
        self._events: list[EventRecord] = []
        self._last_flush = time.monotonic()
        self.flags = Flags(cancel=False, pause=False)
        self.lease_lost = False
        self.in_background = False
        self._lock = threading.Lock()

    def log_epoch(self, epoch: int, metrics: Mapping[str, float], step: int) -> None:
        self._buffer.append(EpochRecord(epoch=epoch, step=step, values=dict(metrics)))
        due = time.monotonic() - self._last_flush >= self.flush_seconds
        if due and not self.in_background:
            self.try_flush()

    def log_event(self, kind: str, epoch: int, data: Mapping[str, Any]) -> None:
        self._events.append(EventRecord(kind=kind, epoch=epoch, data=dict(data)))

    def try_flush(self) -> bool:
        """flush(), but a busy or unreachable database only postpones it to the next epoch."""
        try:
            self.flush()
        except DBAPIError as exc:
            if not database_unavailable(exc):
                raise
            log.warning("job=%s event=flush_retry reason=database_unavailable", self.job_id)
            self._last_flush = time.monotonic()
            return False
        except LeaseLost:
            self.lease_lost = True
            return False
        return True

    def flush(self, **job_values: Any) -> None:
        """Store buffered epochs and events, renew the lease, read the cancel and pause flags.

        job_values are set on the job row in the same transaction. The buffer is emptied only
        once the transaction commits; rows a failed commit stored half-way are skipped by the
        insert-or-ignore of the retry.
        """
        with self._lock:
            self._flush(job_values)

    def _flush(self, job_values: dict[str, Any]) -> None:
        # the loop's thread only appends while another thread flushes: the copies and the
        # deletions of what they held are single operations under the GIL
        records, events = list(self._buffer), list(self._events)
        with session_scope(self._engine) as session:
            if records:
                job_values.setdefault("current_epoch", records[-1].epoch)
            flags = leases.hold(
                session,
                job_id=self.job_id,
                attempt=self.attempt,
                lease_seconds=self.lease_seconds,
                **job_values,
            )
            metrics.write_epochs(session, job_id=self.job_id, records=records)
            metrics.write_events(session, job_id=self.job_id, events=events)
        del self._buffer[: len(records)], self._events[: len(events)]
        self.flags = flags
        self._last_flush = time.monotonic()
