"""Loss functions from loss specs."""

from collections.abc import Callable

import torch
from torch import nn

from training.registry import Registry
from training.spec.losses import CrossEntropyLossSpec, LossBase, MSELossSpec

LossBuilder = Callable[[LossBase], nn.Module]


def _cross_entropy(spec: LossBase) -> nn.Module:
    assert isinstance(spec, CrossEntropyLossSpec)
    weight = torch.tensor(spec.weight, dtype=torch.float32) if spec.weight is not None else None
    return nn.CrossEntropyLoss(
        weight=weight,
        ignore_index=spec.ignore_index,
        reduction=spec.reduction,
        label_smoothing=spec.label_smoothing,
    )


def _mse(spec: LossBase) -> nn.Module:
    return nn.MSELoss(reduction=spec.reduction)


LOSSES: Registry[LossBase, LossBuilder] = Registry(
    "loss", {CrossEntropyLossSpec: _cross_entropy, MSELossSpec: _mse}
)


def build_loss(spec: LossBase) -> nn.Module:
    return LOSSES.builder(spec)(spec)
