"""Optimizers from optimizer specs: every spec field except `type` is a torch keyword."""

from collections.abc import Callable

import torch
from pydantic import BaseModel

from training.registry import Registry
from training.spec.optimizers import AdamSpec, SGDSpec

OptimizerClass = Callable[..., torch.optim.Optimizer]

OPTIMIZERS: Registry[BaseModel, OptimizerClass] = Registry(
    "optimizer", {SGDSpec: torch.optim.SGD, AdamSpec: torch.optim.Adam}
)


def build_optimizer(spec: BaseModel, network: torch.nn.Module) -> torch.optim.Optimizer:
    kwargs = spec.model_dump(exclude={"type"})
    return OPTIMIZERS.builder(spec)(network.parameters(), **kwargs)
