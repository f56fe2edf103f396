"""Learning-rate schedulers from scheduler specs."""

from collections.abc import Callable

import torch
from torch.optim.lr_scheduler import LRScheduler, ReduceLROnPlateau

from training.registry import Registry
from training.spec.schedulers import SchedulerBase, StepLRSpec

Scheduler = LRScheduler | ReduceLROnPlateau
SchedulerClass = Callable[..., Scheduler]

SCHEDULERS: Registry[SchedulerBase, SchedulerClass] = Registry(
    "scheduler", {StepLRSpec: torch.optim.lr_scheduler.StepLR}
)


def build_scheduler(
    spec: SchedulerBase,
    optimizer: torch.optim.Optimizer,
    *,
    epochs: int,  # noqa: ARG001
    steps_per_epoch: int,  # noqa: ARG001
) -> Scheduler:
    """Args:
    epochs, steps_per_epoch: the run's length, for schedules that need it (OneCycleLR).
    """
    kwargs = spec.model_dump(exclude={"type", "interval"})
    return SCHEDULERS.builder(spec)(optimizer, **kwargs)
