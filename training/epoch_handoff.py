"""Hands finished epochs to the sink, measuring small outputs' train metrics a few epochs at once.

Measured right after its optimizer step, a small network's train accuracy (or R^2 and MAE) costs
several times what it costs measured in a row with other epochs': the step has just pushed the
metric code out of the caches, and the next step pays to bring torch's back. For a 2-3-2 network
that was a seventh of its epoch. So an epoch whose outputs are small waits here with them, at
most MAX_EPOCHS epochs or MAX_SECONDS, and reaches the sink, in order and whole, once measured.

Whatever needs an epoch's full metrics first calls flush(): a checkpoint (it must name stored
epochs only), the end of the run, an interruption. An early-stopping or plateau monitor on one of
these metrics turns the waiting off.
"""

import time
from dataclasses import dataclass

import torch

from training.early_stopping import BestTracker
from training.evaluation import target_metrics
from training.sinks import MetricSink
from training.spec.targets import TargetKind

MAX_ELEMENTS = 16_384
MAX_EPOCHS = 64
MAX_SECONDS = 0.25
PREFIX = "train"
# the metrics target_metrics(PREFIX, ...) can report
DEFERRED_KEYS = frozenset({f"{PREFIX}_accuracy", f"{PREFIX}_r2", f"{PREFIX}_mae"})


@dataclass
class _Waiting:
    epoch: int
    step: int
    metrics: dict[str, float]
    # None for an epoch measured at once, waiting only behind others
    outputs: torch.Tensor | None
    targets: torch.Tensor | None


class EpochHandoff:
    """The loop's finished epochs on their way to the sink (see the module docstring)."""

    def __init__(
        self, sink: MetricSink, tracker: BestTracker, kind: TargetKind, *, enabled: bool
    ) -> None:
        self._sink = sink
        self._tracker = tracker
        self._kind = kind
        self._enabled = enabled
        self._waiting: list[_Waiting] = []
        self._since = 0.0

    def measures_later(self, outputs: torch.Tensor) -> bool:
        """Whether an epoch with these outputs is measured here rather than at once."""
        return self._enabled and outputs.numel() <= MAX_ELEMENTS

    def add(
        self,
        epoch: int,
        metrics: dict[str, float],
        step: int,
        measured: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> None:
        """One finished epoch; measured: its outputs and targets, when its train metrics are
        still to measure (then metrics gets them, in place, before the sink sees it)."""
        if measured is None and not self._waiting:
            self._sink.log_epoch(epoch, metrics, step)
            return
        if not self._waiting:
            self._since = time.perf_counter()
        outputs, targets = measured if measured is not None else (None, None)
        self._waiting.append(_Waiting(epoch, step, metrics, outputs, targets))
        full = len(self._waiting) >= MAX_EPOCHS
        if full or time.perf_counter() - self._since >= MAX_SECONDS:
            self.flush()

    def flush(self) -> None:
        """Measure the waiting epochs and hand them to the sink, in order."""
        waiting, self._waiting = self._waiting, []
        for entry in waiting:
            if entry.outputs is not None and entry.targets is not None:
                _insert_train_metrics(
                    entry.metrics, target_metrics(PREFIX, entry.outputs, entry.targets, self._kind)
                )
                if self._tracker.best_epoch == entry.epoch:
                    self._tracker.best_metrics = dict(entry.metrics)
            self._sink.log_epoch(entry.epoch, entry.metrics, entry.step)


def defers(monitors: list[str]) -> bool:
    """Whether epochs may wait for their train metrics: no monitor reads one of them."""
    return not DEFERRED_KEYS.intersection(monitors)


def _insert_train_metrics(metrics: dict[str, float], measured: dict[str, float]) -> None:
    """Put measured after the train loss and penalty, where an epoch measured at once has them."""
    if not measured:
        return
    items = list(metrics.items())
    at = 2 if f"{PREFIX}_penalty" in metrics else 1
    metrics.clear()
    metrics.update(items[:at])
    metrics.update(measured)
    metrics.update(items[at:])
