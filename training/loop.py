"""fit(): the training loop, plain PyTorch, reporting each epoch to a sink."""

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Literal

import torch

from training.run import TrainingRun
from training.sinks import MetricSink
from training.spec.targets import TargetKind

StopReason = Literal["completed", "cancelled"]


class TrainingDiverged(Exception):
    """The training loss became NaN or infinite."""


@dataclass
class FitResult:
    epochs_completed: int
    stop_reason: StopReason
    last_metrics: dict[str, float] = field(default_factory=dict)


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


def _scalar(loss: torch.Tensor) -> torch.Tensor:
    # reduction="none" gives one loss per element; the backward pass needs a scalar.
    return loss if loss.dim() == 0 else loss.mean()


def _train_epoch(run: TrainingRun) -> tuple[dict[str, float], int, int]:
    run.network.train()
    loss_sum = torch.zeros((), dtype=torch.float64, device=run.device)
    correct = torch.zeros((), dtype=torch.int64, device=run.device)
    seen = iterations = 0
    classify = run.train.target_kind == TargetKind.CLASS_INDEX
    for xb, yb in _batches(run):
        run.optimizer.zero_grad()
        out = run.network(xb)
        loss = _scalar(run.loss_fn(out, yb))
        loss.backward()  # type: ignore[no-untyped-call]
        run.optimizer.step()
        if run.scheduler is not None and run.interval == "batch":
            run.scheduler.step()
        loss_sum += loss.detach().double() * len(xb)
        if classify:
            correct += (out.detach().argmax(dim=1) == yb).sum()
        seen += len(xb)
        iterations += 1
    # one host sync per epoch, not per batch
    metrics = {"train_loss": loss_sum.item() / seen}
    if classify:
        metrics["train_accuracy"] = correct.item() / seen
    return metrics, iterations, seen


def fit(
    run: TrainingRun, sink: MetricSink, should_stop: Callable[[], bool] = lambda: False
) -> FitResult:
    """Train for run.epochs epochs, or until should_stop() says so at an epoch boundary."""
    step = 0
    metrics: dict[str, float] = {}
    for epoch in range(1, run.epochs + 1):
        started = time.perf_counter()
        metrics, iterations, seen = _train_epoch(run)
        if not math.isfinite(metrics["train_loss"]):
            raise TrainingDiverged(f"train loss became {metrics['train_loss']} in epoch {epoch}")
        if run.scheduler is not None and run.interval == "epoch":
            run.scheduler.step()
        step += iterations
        seconds = time.perf_counter() - started
        for index, group in enumerate(run.optimizer.param_groups):
            metrics[f"lr/{index}"] = float(group["lr"])
        metrics |= {
            "iterations": float(iterations),
            "seconds": seconds,
            "samples_per_second": seen / seconds if seconds > 0 else 0.0,
        }
        sink.log_epoch(epoch, metrics, step)
        if epoch < run.epochs and should_stop():
            return FitResult(epoch, "cancelled", metrics)
    return FitResult(run.epochs, "completed", metrics)
