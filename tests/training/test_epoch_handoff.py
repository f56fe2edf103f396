"""Epochs whose train metrics are measured a few at a time reach the sink whole, in order, with
the numbers, key order and best epoch an epoch measured at once has."""

import math
from collections.abc import Callable
from typing import Any

import pytest
import torch

from tests.helpers import moons_spec
from training import epoch_handoff
from training.loop import FitResult, StopReason, TrainingDiverged, fit
from training.run import build_run
from training.sinks import ListSink
from training.spec import TrainingSpec

TIMINGS = {"seconds", "samples_per_second"}


def _run(spec: dict[str, Any], control: Any = None) -> tuple[ListSink, FitResult]:
    sink = ListSink()
    run = build_run(TrainingSpec.model_validate(spec), torch.device("cpu"))
    return sink, fit(run, sink, control)


def _without_timings(epochs: list[dict[str, float]]) -> list[list[tuple[str, float]]]:
    return [[(k, v) for k, v in epoch.items() if k not in TIMINGS] for epoch in epochs]


def _at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(epoch_handoff, "MAX_ELEMENTS", -1)


def _regression_spec() -> dict[str, Any]:
    return {
        "dataset": {"type": "regression", "n_samples": 20, "n_features": 3, "noise": 1.0},
        "model": {"layers": [{"type": "Linear", "out_features": 1}]},
        "loss": {"type": "MSELoss"},
        "optimizer": {"type": "SGD", "lr": 0.01, "weight_decay": 0.1},
        "training": {"epochs": 150, "batch_size": 5},
    }


@pytest.mark.parametrize("make_spec", [lambda: moons_spec(epochs=150), _regression_spec])
def test_epochs_measured_later_match_epochs_measured_at_once(
    make_spec: Callable[[], dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    later_sink, later = _run(make_spec())
    _at_once(monkeypatch)
    once_sink, once = _run(make_spec())
    assert len(later_sink.epochs) == 150
    # the same keys in the same order, the same values to the bit
    assert _without_timings(later_sink.epochs) == _without_timings(once_sink.epochs)
    assert {k: later.last_metrics[k] for k in later.last_metrics if k not in TIMINGS} == {
        k: once.last_metrics[k] for k in once.last_metrics if k not in TIMINGS
    }
    assert later.best_epoch == once.best_epoch
    assert later.best_metrics.keys() == once.best_metrics.keys()
    assert any(key in later.best_metrics for key in epoch_handoff.DEFERRED_KEYS)


class _CheckpointEvery:
    """Captures the run every `every` epochs and records how many epochs the sink had then."""

    def __init__(self, sink: ListSink, every: int) -> None:
        self.sink, self.every = sink, every
        self.seen: list[tuple[int, int, bool]] = []

    def interrupt(self) -> StopReason | None:
        return None

    def after_epoch(self, epoch: int, state: Callable[[], dict[str, Any]]) -> StopReason | None:
        if epoch % self.every == 0:
            captured = state()
            whole = "train_accuracy" in captured["metrics"]
            self.seen.append((epoch, len(self.sink.epochs), whole))
        return "paused" if epoch == 3 * self.every else None


def test_a_checkpoint_names_only_epochs_the_sink_has_whole() -> None:
    sink = ListSink()
    control = _CheckpointEvery(sink, every=7)
    run = build_run(TrainingSpec.model_validate(moons_spec(epochs=100)), torch.device("cpu"))
    result = fit(run, sink, control)
    assert control.seen == [(7, 7, True), (14, 14, True), (21, 21, True)]
    assert (result.stop_reason, len(sink.epochs)) == ("paused", 21)
    assert all("train_accuracy" in epoch for epoch in sink.epochs)


def test_a_monitor_on_a_train_metric_measures_every_epoch_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spec = moons_spec(epochs=40)
    spec["training"]["early_stopping"] = {"monitor": "train_accuracy", "mode": "max", "patience": 5}
    measured_later: list[int] = []
    add = epoch_handoff.EpochHandoff.add

    def spying_add(self: Any, epoch: int, metrics: Any, step: int, measured: Any = None) -> None:
        if measured is not None:
            measured_later.append(epoch)
        add(self, epoch, metrics, step, measured)

    monkeypatch.setattr(epoch_handoff.EpochHandoff, "add", spying_add)
    sink, result = _run(spec)
    assert measured_later == []
    assert "train_accuracy" in result.best_metrics
    assert len(sink.epochs) == result.epochs_completed


def test_a_run_that_diverges_keeps_the_epochs_it_finished() -> None:
    spec = _regression_spec()
    spec["optimizer"] = {"type": "SGD", "lr": 1e6}
    spec["training"] = {"epochs": 200}
    sink = ListSink()
    run = build_run(TrainingSpec.model_validate(spec), torch.device("cpu"))
    with pytest.raises(TrainingDiverged) as caught:
        fit(run, sink)
    assert [epoch["epoch"] for epoch in sink.epochs] == list(range(1, caught.value.epoch))
    assert all(math.isfinite(epoch["train_r2"]) for epoch in sink.epochs[:1])
