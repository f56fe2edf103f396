"""Data sets from data set specs, as float features and targets in torch tensors."""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from sklearn import datasets as sk_datasets

from training.registry import Registry
from training.spec.data import DatasetBase, MoonsSpec, RegressionSpec
from training.spec.targets import TargetKind


@dataclass(frozen=True)
class TensorData:
    """Features x (N, ...) and targets y (N,) or (N, k), with the kind of target y holds."""

    x: torch.Tensor
    y: torch.Tensor
    target_kind: TargetKind

    @property
    def sample_shape(self) -> tuple[int, ...]:
        return tuple(self.x.shape[1:])

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def to(self, device: torch.device) -> "TensorData":
        """The same data on device, moved once so batches are cut by indexing there."""
        return TensorData(self.x.to(device), self.y.to(device), self.target_kind)


def _features(x: np.ndarray) -> torch.Tensor:
    return torch.as_tensor(np.asarray(x, dtype=np.float32))


def _moons(spec: DatasetBase) -> TensorData:
    assert isinstance(spec, MoonsSpec)
    x, y = sk_datasets.make_moons(
        n_samples=spec.n_samples,
        shuffle=spec.shuffle,
        noise=spec.noise,
        random_state=spec.random_state,
    )
    return TensorData(_features(x), torch.as_tensor(y, dtype=torch.int64), spec.target_kind)


def _regression(spec: DatasetBase) -> TensorData:
    assert isinstance(spec, RegressionSpec)
    x, y = sk_datasets.make_regression(
        n_samples=spec.n_samples,
        n_features=spec.n_features,
        n_informative=spec.n_informative,
        n_targets=spec.n_targets,
        bias=spec.bias,
        noise=spec.noise,
        shuffle=spec.shuffle,
        random_state=spec.random_state,
    )
    targets = _features(y).reshape(spec.n_samples, spec.n_targets)
    return TensorData(_features(x), targets, spec.target_kind)


DATASETS: Registry[DatasetBase, Callable[[DatasetBase], TensorData]] = Registry(
    "dataset", {MoonsSpec: _moons, RegressionSpec: _regression}
)


def build_dataset(spec: DatasetBase) -> TensorData:
    return DATASETS.builder(spec)(spec)
