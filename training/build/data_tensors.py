"""TensorData, the in-memory form of every data set, and the encodings of class labels."""

import dataclasses
from dataclasses import dataclass

import numpy as np
import torch

from training.build.fitted import FittedPreprocessing
from training.spec.targets import TargetKind


@dataclass(frozen=True)
class TensorData:
    """Features x (N, ...) and targets y (N, ...), with the kind of target y holds.

    preprocessing: the fitted steps x went through, which raw samples need before the network.
    """

    x: torch.Tensor
    y: torch.Tensor
    target_kind: TargetKind
    num_classes: int | None = None
    preprocessing: FittedPreprocessing | None = None

    @property
    def sample_shape(self) -> tuple[int, ...]:
        return tuple(self.x.shape[1:])

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def to(self, device: torch.device) -> "TensorData":
        """The same data on device, moved once so batches are cut by indexing there."""
        return dataclasses.replace(self, x=self.x.to(device), y=self.y.to(device))

    def take(self, index: torch.Tensor | slice) -> "TensorData":
        """The samples at index (a slice or int64 positions), in that order."""
        return dataclasses.replace(self, x=self.x[index], y=self.y[index])


def features(x: np.ndarray) -> torch.Tensor:
    return torch.as_tensor(np.asarray(x, dtype=np.float32))


def encode_labels(labels: np.ndarray, kind: TargetKind, n_classes: int) -> torch.Tensor:
    """Integer class labels in the encoding kind names.

    class_index: the class number; probabilities: one-hot rows; binary: the class (0 or 1) as one
    float column; sign: -1 for class 0 and +1 for class 1, as one float column.
    """
    if kind == TargetKind.CLASS_INDEX:
        return torch.as_tensor(labels, dtype=torch.int64)
    if kind == TargetKind.PROBABILITIES:
        return torch.as_tensor(np.eye(n_classes, dtype=np.float32)[labels])
    if kind == TargetKind.BINARY:
        return features(labels).reshape(-1, 1)
    if kind == TargetKind.SIGN:
        return features(2 * labels - 1).reshape(-1, 1)
    raise ValueError(f"class labels cannot be encoded as {kind.value} targets")


def class_labels(data: TensorData) -> torch.Tensor | None:
    """One class number per sample, for stratified splits and class counts; None for others."""
    kind, y = data.target_kind, data.y
    if kind == TargetKind.CLASS_INDEX and y.dim() == 1:
        return y
    if kind == TargetKind.PROBABILITIES and y.dim() == 2:
        return y.argmax(dim=1)
    if kind in {TargetKind.BINARY, TargetKind.SIGN}:
        return (y.reshape(len(y), -1)[:, 0] > 0).long()
    return None
