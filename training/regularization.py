"""Penalty terms, gradient clipping and the max-norm constraint of a RegularizationSpec."""

import torch
from torch import nn

from training.spec.regularization import ClipGradNormSpec, RegularizationSpec


def penalized_weights(network: nn.Module) -> list[torch.Tensor]:
    """Weight matrices and kernels; biases and 1-d (normalisation) parameters are left out."""
    return [
        param
        for name, param in network.named_parameters()
        if param.requires_grad and name.endswith("weight") and param.dim() > 1
    ]


def penalty(weights: list[torch.Tensor], spec: RegularizationSpec) -> torch.Tensor | None:
    """The l1/l2 term added to the loss, or None when both are zero."""
    if not weights or (spec.l1 == 0 and spec.l2 == 0):
        return None
    total = torch.zeros((), device=weights[0].device)
    if spec.l1:
        total = total + spec.l1 * sum(w.abs().sum() for w in weights)
    if spec.l2:
        total = total + spec.l2 * sum(w.pow(2).sum() for w in weights) / 2
    return total


def clip_gradients(network: nn.Module, spec: RegularizationSpec) -> None:
    if spec.grad_clip is None:
        return
    if isinstance(spec.grad_clip, ClipGradNormSpec):
        nn.utils.clip_grad_norm_(
            network.parameters(), spec.grad_clip.max_norm, norm_type=spec.grad_clip.norm_type
        )
    else:
        nn.utils.clip_grad_value_(network.parameters(), spec.grad_clip.clip_value)


@torch.no_grad()
def apply_max_norm(weights: list[torch.Tensor], spec: RegularizationSpec) -> None:
    """Rescale each output unit's incoming weights to an L2 norm of at most spec.max_norm."""
    if spec.max_norm is None:
        return
    for weight in weights:
        rows = weight.view(weight.shape[0], -1)
        norms = rows.norm(dim=1, keepdim=True)
        rows.mul_(torch.clamp(spec.max_norm / (norms + 1e-12), max=1.0))
