"""Metrics of outputs against targets, and the evaluation pass over a held-out split."""

import torch
from torch import nn

from training.build.data import TensorData
from training.spec.targets import TargetKind


def _r2(outputs: torch.Tensor, targets: torch.Tensor) -> float:
    """R^2 averaged over outputs, as sklearn's r2_score(multioutput="uniform_average")."""
    y = targets.reshape(len(targets), -1).double()
    pred = outputs.reshape(len(outputs), -1).double()
    ss_res = (y - pred).pow(2).sum(dim=0)
    ss_tot = (y - y.mean(dim=0)).pow(2).sum(dim=0)
    scores = torch.where(
        ss_tot > 0, 1 - ss_res / ss_tot.clamp_min(1e-300), torch.zeros_like(ss_res)
    )
    return float(scores.mean().item())


def target_metrics(
    prefix: str, outputs: torch.Tensor, targets: torch.Tensor, kind: TargetKind
) -> dict[str, float]:
    """Accuracy for class-index targets; R^2 and MAE for regression targets."""
    if kind == TargetKind.CLASS_INDEX:
        correct = (outputs.argmax(dim=1) == targets).sum().item()
        return {f"{prefix}_accuracy": correct / targets.numel()}
    if kind == TargetKind.REGRESSION and outputs.shape == targets.shape:
        mae = (outputs.double() - targets.double()).abs().mean().item()
        return {f"{prefix}_r2": _r2(outputs, targets), f"{prefix}_mae": mae}
    return {}


@torch.no_grad()
def evaluate(
    network: nn.Module,
    loss_fn: nn.Module,
    data: TensorData,
    batch_size: int | None,
    prefix: str = "val",
) -> dict[str, float]:
    """Loss and target metrics on data, in eval mode (Dropout off, BatchNorm running stats)."""
    network.eval()
    step = batch_size or len(data)
    outputs = [network(data.x[start : start + step]) for start in range(0, len(data), step)]
    network.train()
    out = torch.cat(outputs)
    loss = loss_fn(out, data.y)
    loss = loss if loss.dim() == 0 else loss.mean()
    return {f"{prefix}_loss": float(loss.item())} | target_metrics(
        prefix, out, data.y, data.target_kind
    )
