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


def _share(correct: torch.Tensor) -> float:
    return correct.sum().item() / correct.numel()


def _predicted_labels(outputs: torch.Tensor) -> torch.Tensor:
    """outputs > 0.5 when every output lies in [0, 1] (probabilities), else outputs > 0 (logits)."""
    probabilities = ((outputs >= 0) & (outputs <= 1)).all()
    return outputs > torch.where(probabilities, 0.5, 0.0)


def target_metrics(
    prefix: str, outputs: torch.Tensor, targets: torch.Tensor, kind: TargetKind
) -> dict[str, float]:
    """Accuracy for class targets; R^2 and MAE for regression targets; {} where none applies.

    class_index: argmax over dim 1 against the index. probabilities and log_probabilities: the
    argmax of the output against the argmax of the target. binary and multi_label: the share of
    0/1 labels predicted right, thresholding probabilities (BCELoss after Sigmoid: every output in
    [0, 1]) at 0.5 and logits at 0. sign, multi_label_indices and count targets get no metric: how
    an output is read depends on the loss (a score's sign, a distance against a margin, x1 - x2,
    a log-rate).
    """
    if kind == TargetKind.CLASS_INDEX:
        correct = (outputs.argmax(dim=1) == targets).sum().item()
        return {f"{prefix}_accuracy": correct / targets.numel()}
    if outputs.shape != targets.shape:
        return {}
    if kind in {TargetKind.PROBABILITIES, TargetKind.LOG_PROBABILITIES}:
        return {f"{prefix}_accuracy": _share(outputs.argmax(dim=1) == targets.argmax(dim=1))}
    if kind in {TargetKind.BINARY, TargetKind.MULTI_LABEL}:
        return {f"{prefix}_accuracy": _share(_predicted_labels(outputs) == (targets > 0.5))}
    if kind == TargetKind.REGRESSION:
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
