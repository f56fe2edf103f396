"""One attempt at a job: the heartbeat that keeps its lease, the stop and checkpoint rules."""

import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import OperationalError

from core import artifacts
from core.leases import LeaseLost
from training import checkpoint
from training.loop import StopReason
from worker.db_sink import DbMetricSink

log = logging.getLogger(__name__)


class Heartbeat:
    """Flushes the sink from a thread, whatever the loop is doing: every flush_seconds of the
    sink, or every renew_seconds if that is shorter.

    Each flush stores the epochs buffered since the last, renews the lease and picks up cancel
    and pause requests, so the loop sees them at its next batch; a long epoch that buffers
    nothing keeps its lease all the same. The loop itself never waits on the database.
    """

    def __init__(self, sink: DbMetricSink, *, renew_seconds: float) -> None:
        self._sink = sink
        self._interval = min(sink.flush_seconds, renew_seconds)
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"heartbeat-{sink.job_id}")

    def __enter__(self) -> "Heartbeat":
        self._sink.in_background = True
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stopped.set()
        self._thread.join()
        self._sink.in_background = False

    def _beat(self) -> None:
        while not self._stopped.wait(self._interval):
            if not self._sink.try_flush() and self._sink.lease_lost:
                return


class AttemptControl:
    """Stops the loop on cancel, a lost lease or the time limit; checkpoints and pauses it."""

    def __init__(
        self,
        sink: DbMetricSink,
        *,
        job_id: uuid.UUID,
        checkpoint_every: int,
        checkpoint_min_seconds: float,
        seconds_left: float | None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sink = sink
        self._job_id = job_id
        self._every = checkpoint_every
        self._min_seconds = checkpoint_min_seconds
        self._clock = clock
        self._deadline = None if seconds_left is None else clock() + seconds_left
        self._last_checkpoint = clock()
        self.checkpoint_epoch: int | None = None

    def interrupt(self) -> StopReason | None:
        if self._sink.lease_lost:
            return "lease_lost"
        if self._sink.flags.cancel:
            return "cancelled"
        if self._deadline is not None and self._clock() >= self._deadline:
            return "max_runtime_exceeded"
        return None

    def after_epoch(self, epoch: int, state: Callable[[], dict[str, Any]]) -> StopReason | None:
        if self._sink.flags.pause and not self._sink.lease_lost:
            self.save(epoch, state())
            return "paused"
        due = self._every and epoch % self._every == 0
        if due and self._clock() - self._last_checkpoint >= self._min_seconds:
            try:
                self.save(epoch, state())
            except OperationalError:
                # the database is away: keep training, the next due epoch tries again
                log.warning("job=%s event=checkpoint_retry epoch=%d", self._job_id, epoch)
            except LeaseLost:
                self._sink.lease_lost = True
        return None

    def save(self, epoch: int, state: dict[str, Any]) -> None:
        """Store every epoch up to `epoch`, write the checkpoint, then point the job at it.

        In that order a crash at any point leaves the job naming a checkpoint whose epochs are
        all stored; the file of the previous checkpoint is deleted only after the switch.
        """
        self._sink.flush()
        checkpoint.write(artifacts.checkpoint_path(self._job_id, epoch), state)
        self._sink.flush(checkpoint_epoch=epoch)
        artifacts.prune_checkpoints(self._job_id, keep=epoch)
        self._last_checkpoint = self._clock()
        self.checkpoint_epoch = epoch
