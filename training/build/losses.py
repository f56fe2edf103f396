"""Loss functions from loss specs, each called as loss_fn(output, target) by the loop."""

from collections.abc import Callable
from typing import Any

import torch
from torch import nn
from torch.nn import functional

from training.registry import Registry
from training.spec.losses import (
    BCELossSpec,
    BCEWithLogitsLossSpec,
    CosineEmbeddingLossSpec,
    CrossEntropyLossSpec,
    GaussianNLLLossSpec,
    HingeEmbeddingLossSpec,
    HuberLossSpec,
    KLDivLossSpec,
    L1LossSpec,
    LossBase,
    MarginRankingLossSpec,
    MSELossSpec,
    MultiLabelMarginLossSpec,
    MultiLabelSoftMarginLossSpec,
    NLLLossSpec,
    PoissonNLLLossSpec,
    SmoothL1LossSpec,
    SoftMarginLossSpec,
)
from training.torch_options import torch_keywords

LossBuilder = Callable[[LossBase], nn.Module]
TENSOR_FIELDS = ("weight", "pos_weight")


def _halves(output: torch.Tensor, loss_name: str) -> tuple[torch.Tensor, torch.Tensor]:
    """output[:, :k] and output[:, k:] of an (N, 2k) output."""
    if output.dim() != 2 or output.shape[1] % 2:
        raise ValueError(
            f"{loss_name} needs a network output of shape (N, 2k), split into two halves; "
            f"it is {tuple(output.shape)}"
        )
    half = output.shape[1] // 2
    return output[:, :half], output[:, half:]


def _one_per_sample(target: torch.Tensor) -> torch.Tensor:
    """(N,) or (N, 1) targets as (N,)."""
    return target.reshape(len(target))


class MarginRankingAdapter(nn.Module):
    """MarginRankingLoss(x1, x2, y) with x1 = output[:, 0], x2 = output[:, 1], y = target (N,)."""

    def __init__(self, loss: nn.MarginRankingLoss) -> None:
        super().__init__()
        self.loss = loss

    def forward(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if output.dim() != 2 or output.shape[1] != 2:
            raise ValueError(
                f"MarginRankingLoss needs 2 network outputs, x1 and x2; got {tuple(output.shape)}"
            )
        loss: torch.Tensor = self.loss(output[:, 0], output[:, 1], _one_per_sample(target))
        return loss


class CosineEmbeddingAdapter(nn.Module):
    """CosineEmbeddingLoss(x1, x2, y) with x1, x2 the halves of an (N, 2D) output, y (N,)."""

    def __init__(self, loss: nn.CosineEmbeddingLoss) -> None:
        super().__init__()
        self.loss = loss

    def forward(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        x1, x2 = _halves(output, "CosineEmbeddingLoss")
        loss: torch.Tensor = self.loss(x1, x2, _one_per_sample(target))
        return loss


class GaussianNLLAdapter(nn.Module):
    """GaussianNLLLoss(mean, target, var) from an (N, 2k) output for (N, k) targets.

    mean = output[:, :k]; var = softplus(output[:, k:]), which is positive and, unlike exp, grows
    only linearly, so large raw outputs do not overflow. torch then clamps var to at least eps.
    """

    def __init__(self, loss: nn.GaussianNLLLoss) -> None:
        super().__init__()
        self.loss = loss

    def forward(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        mean, raw_var = _halves(output, "GaussianNLLLoss")
        loss: torch.Tensor = self.loss(mean, target, functional.softplus(raw_var))
        return loss


def _kwargs(spec: LossBase, loss_class: Callable[..., Any]) -> dict[str, Any]:
    """The spec's fields as torch keywords; lists of floats become float32 tensors."""
    kwargs = torch_keywords(spec, loss_class, spec.model_dump(exclude={"type"}))
    for name in TENSOR_FIELDS:
        if kwargs.get(name) is not None:
            kwargs[name] = torch.tensor(kwargs[name], dtype=torch.float32)
    return kwargs


def _plain(loss_class: Callable[..., nn.Module]) -> LossBuilder:
    return lambda spec: loss_class(**_kwargs(spec, loss_class))


def _adapted(loss_class: Callable[..., Any], adapter: Callable[[Any], nn.Module]) -> LossBuilder:
    return lambda spec: adapter(loss_class(**_kwargs(spec, loss_class)))


LOSSES: Registry[LossBase, LossBuilder] = Registry(
    "loss",
    {
        L1LossSpec: _plain(nn.L1Loss),
        MSELossSpec: _plain(nn.MSELoss),
        SmoothL1LossSpec: _plain(nn.SmoothL1Loss),
        HuberLossSpec: _plain(nn.HuberLoss),
        CrossEntropyLossSpec: _plain(nn.CrossEntropyLoss),
        NLLLossSpec: _plain(nn.NLLLoss),
        KLDivLossSpec: _plain(nn.KLDivLoss),
        BCELossSpec: _plain(nn.BCELoss),
        BCEWithLogitsLossSpec: _plain(nn.BCEWithLogitsLoss),
        MarginRankingLossSpec: _adapted(nn.MarginRankingLoss, MarginRankingAdapter),
        MultiLabelMarginLossSpec: _plain(nn.MultiLabelMarginLoss),
        MultiLabelSoftMarginLossSpec: _plain(nn.MultiLabelSoftMarginLoss),
        SoftMarginLossSpec: _plain(nn.SoftMarginLoss),
        HingeEmbeddingLossSpec: _plain(nn.HingeEmbeddingLoss),
        CosineEmbeddingLossSpec: _adapted(nn.CosineEmbeddingLoss, CosineEmbeddingAdapter),
        PoissonNLLLossSpec: _plain(nn.PoissonNLLLoss),
        GaussianNLLLossSpec: _adapted(nn.GaussianNLLLoss, GaussianNLLAdapter),
    },
)


def build_loss(spec: LossBase) -> nn.Module:
    """The loss module; an adapter wraps losses whose torch call is not (output, target)."""
    return LOSSES.builder(spec)(spec)
