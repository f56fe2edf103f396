"""preview_lr: the lr curve of a schedule, computed without training."""

from collections import OrderedDict

import torch
from pydantic import BaseModel
from torch import nn
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler, ReduceLROnPlateau

from training.build.optimizers import build_optimizer
from training.build.schedulers import build_scheduler
from training.spec.schedulers import Interval, SchedulerBase, run_span

MAX_PREVIEW_POINTS = 1_000_000
PLATEAU_NOTE = (
    "ReduceLROnPlateau lowers the lr only when the monitored metric stops improving;"
    " a preview has no metric, so the curve stays at the starting lr"
)


class LrPreview(BaseModel):
    """The first parameter group's lr: at the start, after each epoch and after each batch."""

    interval: Interval
    initial_lr: float
    lr_per_epoch: list[float]
    lr_per_step: list[float] | None = None
    note: str | None = None


def preview_lr(
    optimizer_spec: BaseModel, scheduler_spec: SchedulerBase, *, epochs: int, steps_per_epoch: int
) -> LrPreview:
    """Step the schedule as fit() does, on a one-weight network; lr_per_epoch matches lr/0."""
    _check_size(scheduler_spec.interval, epochs, steps_per_epoch)
    optimizer = build_optimizer(optimizer_spec, _tiny_network(optimizer_spec))
    scheduler = build_scheduler(
        scheduler_spec, optimizer, epochs=epochs, steps_per_epoch=steps_per_epoch
    )
    initial_lr = _lr(optimizer)
    if isinstance(scheduler, ReduceLROnPlateau):
        return LrPreview(
            interval="epoch",
            initial_lr=initial_lr,
            lr_per_epoch=[initial_lr] * epochs,
            note=PLATEAU_NOTE,
        )
    _mark_stepped(optimizer)
    per_epoch, per_step = _curve(
        scheduler, optimizer, scheduler_spec.interval, epochs, steps_per_epoch
    )
    return LrPreview(
        interval=scheduler_spec.interval,
        initial_lr=initial_lr,
        lr_per_epoch=per_epoch,
        lr_per_step=per_step if scheduler_spec.interval == "batch" else None,
    )


def _check_size(interval: Interval, epochs: int, steps_per_epoch: int) -> None:
    if epochs < 1 or steps_per_epoch < 1:
        raise ValueError("epochs and steps_per_epoch must be at least 1")
    points = run_span(interval, epochs=epochs, steps_per_epoch=steps_per_epoch).length
    if points > MAX_PREVIEW_POINTS:
        raise ValueError(
            f"a preview has at most {MAX_PREVIEW_POINTS:,} points; this one would have {points:,}"
        )


def _layer_names(spec: BaseModel) -> list[str]:
    """Layers the spec's parameter groups name, so that the tiny network has them too."""
    referenced = getattr(spec, "referenced_layers", None)
    return sorted(referenced()) if callable(referenced) else []


def _tiny_network(spec: BaseModel) -> nn.Sequential:
    # the layer "0" keeps the default group, lr/0, non-empty
    names = ["0", *dict.fromkeys(name for name in _layer_names(spec) if name != "0")]
    with torch.random.fork_rng(devices=[]):
        return nn.Sequential(OrderedDict((name, nn.Linear(1, 1)) for name in names))


def _mark_stepped(optimizer: Optimizer) -> None:
    """One step without gradients: changes no weight and tells the schedulers the optimizer ran."""
    optimizer.step(lambda: 0.0)


def _lr(optimizer: Optimizer) -> float:
    return float(optimizer.param_groups[0]["lr"])


def _curve(
    scheduler: LRScheduler,
    optimizer: Optimizer,
    interval: Interval,
    epochs: int,
    steps_per_epoch: int,
) -> tuple[list[float], list[float]]:
    per_epoch: list[float] = []
    per_step: list[float] = []
    for _ in range(epochs):
        if interval == "batch":
            for _ in range(steps_per_epoch):
                scheduler.step()
                per_step.append(_lr(optimizer))
        else:
            scheduler.step()
        per_epoch.append(_lr(optimizer))
    return per_epoch, per_step
