"""Where the loop reports: a Protocol, so the loop knows nothing of storage."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol


class MetricSink(Protocol):
    def log_epoch(self, epoch: int, metrics: Mapping[str, float], step: int) -> None:
        """Receive one finished epoch's metrics; epochs arrive in order starting at 1."""

    def log_event(self, kind: str, epoch: int, data: Mapping[str, Any]) -> None:
        """Receive a notable event: lr reduced on plateau, early stop, ..."""


@dataclass
class ListSink:
    """Keeps every epoch and event in memory, for tests and local runs."""

    epochs: list[dict[str, float]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)

    def log_epoch(self, epoch: int, metrics: Mapping[str, float], step: int) -> None:
        self.epochs.append({"epoch": epoch, "step": step, **metrics})

    def log_event(self, kind: str, epoch: int, data: Mapping[str, Any]) -> None:
        self.events.append({"kind": kind, "epoch": epoch, **data})
