"""fit(): the training loop, plain PyTorch, reporting each epoch to a sink."""

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Literal, Protocol

import torch
from torch.optim import LBFGS
from torch.optim.lr_scheduler import ReduceLROnPlateau

from training.checkpoint import LoopPosition, capture, restore
from training.early_stopping import BestTracker, tracker_for
from training.epoch_handoff import EpochHandoff, defers
from training.evaluation import evaluate, target_metrics
from training.regularization import apply_max_norm, clip_gradients, penalized_weights, penalty
from training.run import TrainingRun
from training.sinks import MetricSink

StopReason = Literal[
    "completed", "cancelled", "early_stopped", "paused", "max_runtime_exceeded", "lease_lost"
]
# the fractions of the epochs at which an epoch_milestone event is logged
MILESTONES = (0.25, 0.5, 0.75)


class RunControl(Protocol):
    """How the world outside the loop stops or checkpoints it."""

    def interrupt(self) -> StopReason | None:
        """Checked between batches: a reason to stop at once (cancel, lost lease, time limit)."""

    def after_epoch(self, epoch: int, state: Callable[[], dict[str, Any]]) -> StopReason | None:
        """Called after each epoch; may checkpoint (state() hands every epoch up to this one to
        the sink, then captures the run) and may ask to stop at this boundary (pause)."""


class Uncontrolled:
    """Runs to the end: nothing interrupts, nothing is checkpointed."""

    def interrupt(self) -> StopReason | None:
        return None

    def after_epoch(self, epoch: int, state: Callable[[], dict[str, Any]]) -> StopReason | None:
        del epoch, state
        return None


class _Interrupted(Exception):
    def __init__(self, reason: StopReason) -> None:
        super().__init__(reason)
        self.reason = reason


class TrainingDiverged(Exception):
    """The training loss became NaN or infinite."""

    reason = "non_finite_loss"

    def __init__(self, epoch: int, value: float) -> None:
        super().__init__(f"train loss became {value} in epoch {epoch}")
        self.epoch = epoch


@dataclass
class FitResult:
    epochs_completed: int
    stop_reason: StopReason
    last_metrics: dict[str, float] = field(default_factory=dict)
    best_epoch: int = 0
    best_metrics: dict[str, float] = field(default_factory=dict)
    test_metrics: dict[str, float] = field(default_factory=dict)
    best_state: dict[str, torch.Tensor] | None = None


def _batches(run: TrainingRun) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    x, y = run.train.x, run.train.y
    n = len(run.train)
    if run.batch_size is None or (run.batch_size >= n and not run.shuffle):
        yield x, y
        return
    order = torch.randperm(n, generator=run.generator) if run.shuffle else torch.arange(n)
    order = order.to(run.device)
    stop = n - n % run.batch_size if run.drop_last else n
    for start in range(0, stop, run.batch_size):
        index = order[start : start + run.batch_size]
        yield x[index], y[index]


def scalar_loss(loss: torch.Tensor) -> torch.Tensor:
    """reduction="none" gives one loss per element; the backward pass needs a scalar."""
    return loss if loss.dim() == 0 else loss.mean()


class _DeviceSums:
    """Loss and penalty sums kept as float64 tensors: no host sync per batch on a GPU.

    The sums start at the second batch (0 + x == x), so one batch costs no arithmetic.
    """

    def __init__(self) -> None:
        self.loss: torch.Tensor | None = None
        self.penalty: torch.Tensor | None = None
        self.first_loss: torch.Tensor | None = None
        self.first_penalty: torch.Tensor | None = None
        self.seen = 0

    def add(self, loss: torch.Tensor, extra: torch.Tensor | None, n: int) -> None:
        if self.first_loss is None:
            self.first_loss, self.first_penalty, self.seen = loss, extra, n
            return
        if self.loss is None:
            self.loss = _weighted(self.first_loss, self.seen)
            if self.first_penalty is not None:
                self.penalty = _weighted(self.first_penalty, self.seen)
        self.loss += _weighted(loss, n)
        if extra is not None and self.penalty is not None:
            self.penalty += _weighted(extra, n)
        self.seen += n

    def means(self) -> tuple[float, float]:
        """The epoch's mean loss and penalty: one host sync each, once per epoch."""
        return (
            _mean(self.first_loss, self.loss, self.seen),
            _mean(self.first_penalty, self.penalty, self.seen),
        )


class _HostSums:
    """The same sums as Python floats, for CPU tensors: reading a CPU scalar costs no sync,
    and a float is cheaper than a tensor op. float64 either way, in the same order, so both
    give the same bits."""

    def __init__(self) -> None:
        self.loss = 0.0
        self.penalty = 0.0
        self.seen = 0

    def add(self, loss: torch.Tensor, extra: torch.Tensor | None, n: int) -> None:
        self.loss += loss.item() * n
        if extra is not None:
            self.penalty += extra.item() * n
        self.seen += n

    def means(self) -> tuple[float, float]:
        # + 0.0 makes -0.0 the 0.0 a sum started at zero gives
        return self.loss / self.seen + 0.0, self.penalty / self.seen + 0.0


Evaluation = tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]


def _evaluate(
    run: TrainingRun, xb: torch.Tensor, yb: torch.Tensor, weights: list[torch.Tensor]
) -> tuple[Evaluation, torch.Tensor]:
    """Gradients of the objective at the current weights; (outputs, data loss, penalty) and the
    objective."""
    run.optimizer.zero_grad()
    out = run.network(xb)
    data_loss = scalar_loss(run.loss_fn(out, yb))
    extra = penalty(weights, run.regularization)
    objective = data_loss if extra is None else data_loss + extra
    objective.backward()  # type: ignore[no-untyped-call]
    clip_gradients(run.network, run.regularization)
    return (out.detach(), data_loss.detach(), extra), objective


def _train_step(
    run: TrainingRun, xb: torch.Tensor, yb: torch.Tensor, weights: list[torch.Tensor]
) -> Evaluation:
    """One optimizer step; returns the first evaluation's outputs, data loss and penalty."""
    if isinstance(run.optimizer, LBFGS):
        # LBFGS evaluates the closure several times per step; the first is the step's record
        first: list[Evaluation] = []

        def closure() -> torch.Tensor:
            evaluation, objective = _evaluate(run, xb, yb, weights)
            if not first:
                first.append(evaluation)
            return objective

        run.optimizer.step(closure)  # type: ignore[no-untyped-call]
        recorded = first[0]
    else:
        recorded, _ = _evaluate(run, xb, yb, weights)
        run.optimizer.step()
    apply_max_norm(weights, run.regularization)
    return recorded


def _cat(tensors: list[torch.Tensor]) -> torch.Tensor:
    return tensors[0] if len(tensors) == 1 else torch.cat(tensors)


def _weighted(value: torch.Tensor, n: int) -> torch.Tensor:
    return value.detach().double() * n


def _mean(first: torch.Tensor | None, total: torch.Tensor | None, seen: int) -> float:
    # one batch: a float32 value times n over n is exact in float64, so it is its own mean;
    # + 0.0 makes -0.0 the 0.0 a sum started at zero gives
    if total is not None:
        return total.item() / seen + 0.0
    return first.item() + 0.0 if first is not None else 0.0


def _train_epoch(
    run: TrainingRun, weights: list[torch.Tensor], control: RunControl
) -> tuple[dict[str, float], int, int, torch.Tensor, torch.Tensor]:
    """The epoch's loss (and penalty), iterations, samples, and its outputs and targets."""
    sums = _HostSums() if run.device.type == "cpu" else _DeviceSums()
    outputs: list[torch.Tensor] = []
    targets: list[torch.Tensor] = []
    for xb, yb in _batches(run):
        if outputs and (reason := control.interrupt()) is not None:
            raise _Interrupted(reason)
        out, data_loss, extra = _train_step(run, xb, yb, weights)
        if run.scheduler is not None and run.interval == "batch":
            run.scheduler.step()
        sums.add(data_loss, extra, len(xb))
        outputs.append(out)
        targets.append(yb)
    mean_loss, mean_penalty = sums.means()
    metrics = {"train_loss": mean_loss}
    if run.regularization.l1 or run.regularization.l2:
        metrics["train_penalty"] = mean_penalty
    return metrics, len(outputs), sums.seen, _cat(outputs), _cat(targets)


def _step_scheduler(run: TrainingRun, metrics: dict[str, float]) -> None:
    if run.scheduler is None:
        return
    if isinstance(run.scheduler, ReduceLROnPlateau):
        run.scheduler.step(metrics[_plateau_monitor(run)])
    elif run.interval == "epoch":
        run.scheduler.step()


def _plateau_monitor(run: TrainingRun) -> str:
    return run.plateau_monitor or ("val_loss" if run.val is not None else "train_loss")


def _record_lr(run: TrainingRun, metrics: dict[str, float]) -> list[float]:
    lrs = [float(group["lr"]) for group in run.optimizer.param_groups]
    for index, lr in enumerate(lrs):
        metrics[f"lr/{index}"] = lr
    return lrs


def _lr_events(
    run: TrainingRun, sink: MetricSink, epoch: int, before: list[float], after: list[float]
) -> None:
    if isinstance(run.scheduler, ReduceLROnPlateau) and before != after:
        data = {"from": before, "to": after, "monitor": _plateau_monitor(run)}
        sink.log_event("lr_reduced_on_plateau", epoch, data)


Measured = tuple[torch.Tensor, torch.Tensor]


def _run_epoch(
    run: TrainingRun,
    epoch: int,
    sink: MetricSink,
    step: int,
    weights: list[torch.Tensor],
    control: RunControl,
    handoff: EpochHandoff,
) -> tuple[dict[str, float], int, Measured | None]:
    """The epoch's metrics, the step it ends on, and its outputs and targets when the handoff
    measures its train metrics later."""
    started = time.perf_counter()
    metrics, iterations, seen, outputs, targets = _train_epoch(run, weights, control)
    if not math.isfinite(metrics["train_loss"]):
        raise TrainingDiverged(epoch, metrics["train_loss"])
    measured: Measured | None = None
    if handoff.measures_later(outputs):
        measured = outputs, targets
    else:
        metrics |= target_metrics("train", outputs, targets, run.train.target_kind)
    if run.val is not None:
        metrics |= evaluate(run.network, run.loss_fn, run.val, run.batch_size)
    plateau = isinstance(run.scheduler, ReduceLROnPlateau)
    lr_before = [float(group["lr"]) for group in run.optimizer.param_groups] if plateau else []
    _step_scheduler(run, metrics)
    _lr_events(run, sink, epoch, lr_before, _record_lr(run, metrics))
    seconds = time.perf_counter() - started
    metrics |= {
        "iterations": float(iterations),
        "seconds": seconds,
        "samples_per_second": seen / seconds if seconds > 0 else 0.0,
    }
    return metrics, step + iterations, measured


def _early_stop(run: TrainingRun, tracker: BestTracker, sink: MetricSink, epoch: int) -> None:
    restored = tracker.restore and tracker.best_state is not None
    if tracker.restore and tracker.best_state is not None:
        run.network.load_state_dict(tracker.best_state)
    data = {
        "monitor": tracker.monitor,
        "best_epoch": tracker.best_epoch,
        "best_value": tracker.best_value,
        "patience": tracker.patience,
        "restored_best_weights": restored,
    }
    sink.log_event("early_stopped", epoch, data)


def _result(
    run: TrainingRun,
    epoch: int,
    reason: StopReason,
    metrics: dict[str, float],
    tracker: BestTracker,
    handoff: EpochHandoff,
) -> FitResult:
    """The run's result, with the test split evaluated on the weights training ends with."""
    handoff.flush()  # every epoch whole, the best one too
    test = (
        {}
        if run.test is None
        else evaluate(run.network, run.loss_fn, run.test, run.batch_size, prefix="test")
    )
    best = tracker.best_state
    return FitResult(epoch, reason, metrics, tracker.best_epoch, tracker.best_metrics, test, best)


def _captured(
    handoff: EpochHandoff, run: TrainingRun, tracker: BestTracker, position: LoopPosition
) -> dict[str, Any]:
    """capture() once every epoch up to the position's has reached the sink whole."""
    handoff.flush()
    return capture(run, tracker, position)


def _milestones(epochs: int) -> dict[int, int]:
    """Epoch -> percent done, for the milestone events of a run of `epochs` epochs."""
    marks: dict[int, int] = {}
    for fraction in MILESTONES:
        epoch = math.ceil(epochs * fraction)
        if 0 < epoch < epochs:
            marks.setdefault(epoch, round(fraction * 100))
    return marks


def fit(
    run: TrainingRun,
    sink: MetricSink,
    control: RunControl | None = None,
    resume_from: dict[str, Any] | None = None,
) -> FitResult:
    """Train for run.epochs epochs, until early stopping, or until control stops it.

    resume_from is a checkpoint captured by this loop (training.checkpoint): the run continues
    after its epoch, drawing the same random numbers an uninterrupted run would.
    """
    control = control or Uncontrolled()
    tracker = tracker_for(run.early_stopping, has_val=run.val is not None)
    monitors = [tracker.monitor]
    if isinstance(run.scheduler, ReduceLROnPlateau):
        monitors.append(_plateau_monitor(run))
    handoff = EpochHandoff(sink, tracker, run.train.target_kind, enabled=defers(monitors))
    try:
        return _fit(run, sink, control, tracker, handoff, resume_from)
    finally:
        handoff.flush()  # a run that raised keeps the epochs it finished


def _fit(
    run: TrainingRun,
    sink: MetricSink,
    control: RunControl,
    tracker: BestTracker,
    handoff: EpochHandoff,
    resume_from: dict[str, Any] | None,
) -> FitResult:
    position = LoopPosition(epoch=0, step=0, metrics={})
    if resume_from is not None:
        position = restore(run, tracker, resume_from)
    step, metrics = position.step, dict(position.metrics)
    milestones = _milestones(run.epochs)
    # the same tensors all run long: restoring the best weights copies into them
    weights = penalized_weights(run.network)
    # once: evaluate() switches back to train mode when it is done
    run.network.train()
    for epoch in range(position.epoch + 1, run.epochs + 1):
        try:
            metrics, step, measured = _run_epoch(run, epoch, sink, step, weights, control, handoff)
        except _Interrupted as stop:
            return _result(run, epoch - 1, stop.reason, metrics, tracker, handoff)
        handoff.add(epoch, metrics, step, measured)
        if epoch in milestones:
            sink.log_event("epoch_milestone", epoch, {"percent": milestones[epoch]})
        if tracker.update(epoch, metrics, run.network):
            _early_stop(run, tracker, sink, epoch)
            return _result(run, epoch, "early_stopped", metrics, tracker, handoff)
        if epoch == run.epochs:
            break
        reason = control.after_epoch(
            epoch, partial(_captured, handoff, run, tracker, LoopPosition(epoch, step, metrics))
        )
        if reason is None:
            reason = control.interrupt()
        if reason is not None:
            return _result(run, epoch, reason, metrics, tracker, handoff)
    return _result(run, run.epochs, "completed", metrics, tracker, handoff)
