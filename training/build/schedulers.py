"""Learning-rate schedulers from scheduler specs."""

from collections.abc import Callable

import torch
from torch.optim.lr_scheduler import LRScheduler

from training.registry import Registry
from training.spec.schedulers import SchedulerBase, StepLRSpec

SchedulerClass = Callable[..., LRScheduler]

SCHEDULERS: Registry[SchedulerBase, SchedulerClass] = Registry(
    "scheduler", {StepLRSpec: torch.optim.lr_scheduler.StepLR}
)


def build_scheduler(spec: SchedulerBase, optimizer: torch.optim.Optimizer) -> LRScheduler:
    kwargs = spec.model_dump(exclude={"type", "interval"})
    return SCHEDULERS.builder(spec)(optimizer, **kwargs)
