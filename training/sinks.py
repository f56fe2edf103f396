"""Where the loop reports: a Protocol, so the loop knows nothing of storage."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol


class MetricSink(Protocol):
    def log_epoch(self, epoch: int, metrics: Mapping[str, float], step: int) -> None:
        """Receive one finished epoch's metrics; epochs arrive in order starting at 1."""


@dataclass
class ListSink:
    """Keeps every epoch in memory, for tests and local runs."""

    epochs: list[dict[str, float]] = field(default_factory=list)

    def log_epoch(self, epoch: int, metrics: Mapping[str, float], step: int) -> None:
        self.epochs.append({"epoch": epoch, "step": step, **metrics})
