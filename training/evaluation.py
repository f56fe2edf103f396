"""Metrics of outputs against targets, and the evaluation pass over a held-out split."""

import math
from typing import Any

import numpy as np
import torch
from torch import nn

from training.build.data import TensorData
from training.spec.targets import TargetKind

# A metric is a handful of reductions over one epoch's outputs. On the CPU numpy does each in a
# microsecond or two where a torch op costs several, which for a small network is a good part of
# its epoch. Array is a numpy array on the CPU, a tensor elsewhere: both take the same operators.
Array = Any
Metrics = dict[str, float]


def _host(values: torch.Tensor) -> np.ndarray[Any, Any]:
    """A CPU tensor as a numpy array (half precisions widened: numpy has no bfloat16)."""
    values = values.detach()
    if values.dtype in (torch.float16, torch.bfloat16):
        values = values.float()
    return values.numpy()


def _arrays(outputs: torch.Tensor, targets: torch.Tensor) -> tuple[Array, Array, Any]:
    """Outputs and targets to measure, and the module (numpy or torch) that measures them."""
    if outputs.device.type == "cpu" and targets.device.type == "cpu":
        return _host(outputs), _host(targets), np
    return outputs.detach(), targets.detach(), torch


def _float64(values: Array) -> Array:
    return values.double() if isinstance(values, torch.Tensor) else values.astype(np.float64)


def _r2(outputs: Array, targets: Array, xp: Any) -> float:
    """R^2 averaged over outputs, as sklearn's r2_score(multioutput="uniform_average")."""
    # sums over a count rather than means: numpy's mean costs more than the sum itself
    y = targets.reshape(len(targets), -1)
    pred = outputs.reshape(len(outputs), -1)
    ss_res = ((y - pred) ** 2).sum(0)
    ss_tot = ((y - y.sum(0) / len(y)) ** 2).sum(0)
    explained = 1 - ss_res / xp.where(ss_tot > 0, ss_tot, 1.0)
    return float(xp.where(ss_tot > 0, explained, 0.0).sum().item() / explained.shape[0])


def _single_output_regression(prefix: str, out: np.ndarray[Any, Any], target: Any) -> Metrics:
    """R^2 and MAE of one output per sample on the CPU: two dot products and one sum.

    Every numpy call in the loop costs several times what it costs alone (the training step
    has just run through other code), so the fewer the better.
    """
    error = target.reshape(-1) - out.reshape(-1)
    centred = target.reshape(-1) - target.sum() / target.size
    ss_res, ss_tot = float(error @ error), float(centred @ centred)
    r2 = 1 - ss_res / ss_tot if ss_tot > 0 else 0.0
    return {f"{prefix}_r2": r2, f"{prefix}_mae": float(np.abs(error).sum()) / error.size}


def _share(correct: Array) -> float:
    if isinstance(correct, np.ndarray):
        return int(np.count_nonzero(correct)) / correct.size
    return float(correct.sum().item() / math.prod(correct.shape))


def _predicted_labels(outputs: Array) -> Array:
    """outputs > 0.5 when every output lies in [0, 1] (probabilities), else outputs > 0 (logits)."""
    probabilities = bool(((outputs >= 0) & (outputs <= 1)).all().item())
    return outputs > (0.5 if probabilities else 0.0)


# the kinds a metric applies to; the others' outputs are read by the loss alone
_MEASURED = {
    TargetKind.CLASS_INDEX,
    TargetKind.PROBABILITIES,
    TargetKind.LOG_PROBABILITIES,
    TargetKind.BINARY,
    TargetKind.MULTI_LABEL,
    TargetKind.REGRESSION,
}


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
    if kind not in _MEASURED or (kind != TargetKind.CLASS_INDEX and outputs.shape != targets.shape):
        return {}
    out, target, xp = _arrays(outputs, targets)
    if kind == TargetKind.CLASS_INDEX:
        return {f"{prefix}_accuracy": _share(out.argmax(1) == target)}
    if kind in {TargetKind.PROBABILITIES, TargetKind.LOG_PROBABILITIES}:
        return {f"{prefix}_accuracy": _share(out.argmax(1) == target.argmax(1))}
    if kind in {TargetKind.BINARY, TargetKind.MULTI_LABEL}:
        return {f"{prefix}_accuracy": _share(_predicted_labels(out) == (target > 0.5))}
    out, target = _float64(out), _float64(target)
    if xp is np and out.size == len(out):
        return _single_output_regression(prefix, out, target)
    mae = float(abs(out - target).sum().item() / math.prod(out.shape))
    return {f"{prefix}_r2": _r2(out, target, xp), f"{prefix}_mae": mae}


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
