"""Data sets from data set specs, as float features and targets in torch tensors."""

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from sklearn import datasets as sk_datasets

from training.registry import Registry
from training.spec.data import (
    BlobsSpec,
    CirclesSpec,
    ClassificationSpec,
    DatasetBase,
    LabelledSetBase,
    MoonsSpec,
    RandomSpec,
    RegressionSpec,
)
from training.spec.targets import INTEGER_KINDS, TargetKind

# the mean of the counts random count targets are drawn with
RANDOM_COUNT_RATE = 3.0


@dataclass(frozen=True)
class TensorData:
    """Features x (N, ...) and targets y (N, ...), with the kind of target y holds."""

    x: torch.Tensor
    y: torch.Tensor
    target_kind: TargetKind
    num_classes: int | None = None

    @property
    def sample_shape(self) -> tuple[int, ...]:
        return tuple(self.x.shape[1:])

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def to(self, device: torch.device) -> "TensorData":
        """The same data on device, moved once so batches are cut by indexing there."""
        return dataclasses.replace(self, x=self.x.to(device), y=self.y.to(device))


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
    targets = torch.as_tensor(y, dtype=torch.int64)
    return TensorData(_features(x), targets, spec.target_kind, spec.num_classes())


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


def _labelled(spec: LabelledSetBase, x: np.ndarray, labels: np.ndarray) -> TensorData:
    """sklearn's class labels in the encoding spec.target_kind names."""
    kind, n_classes = spec.target_kind, spec.num_classes()
    if kind == TargetKind.CLASS_INDEX:
        targets = torch.as_tensor(labels, dtype=torch.int64)
    elif kind == TargetKind.PROBABILITIES:
        targets = torch.as_tensor(np.eye(n_classes, dtype=np.float32)[labels])
    elif kind == TargetKind.BINARY:
        targets = _features(labels).reshape(-1, 1)
    else:
        targets = _features(2 * labels - 1).reshape(-1, 1)
    return TensorData(_features(x), targets, kind, n_classes)


def _circles(spec: DatasetBase) -> TensorData:
    assert isinstance(spec, CirclesSpec)
    x, y = sk_datasets.make_circles(
        n_samples=spec.n_samples,
        shuffle=spec.shuffle,
        noise=spec.noise,
        random_state=spec.random_state,
        factor=spec.factor,
    )
    return _labelled(spec, x, y)


def _blobs(spec: DatasetBase) -> TensorData:
    assert isinstance(spec, BlobsSpec)
    x, y = sk_datasets.make_blobs(
        n_samples=spec.n_samples,
        n_features=spec.n_features,
        centers=np.array(spec.centers) if isinstance(spec.centers, list) else spec.centers,
        cluster_std=spec.cluster_std,
        center_box=spec.center_box,
        shuffle=spec.shuffle,
        random_state=spec.random_state,
    )
    return _labelled(spec, x, y)


def _array_or_scalar(value: float | list[float] | None) -> float | np.ndarray | None:
    return np.array(value) if isinstance(value, list) else value


def _classification(spec: DatasetBase) -> TensorData:
    assert isinstance(spec, ClassificationSpec)
    x, y = sk_datasets.make_classification(
        n_samples=spec.n_samples,
        n_features=spec.n_features,
        n_informative=spec.n_informative,
        n_redundant=spec.n_redundant,
        n_repeated=spec.n_repeated,
        n_classes=spec.n_classes,
        n_clusters_per_class=spec.n_clusters_per_class,
        weights=spec.weights,
        flip_y=spec.flip_y,
        class_sep=spec.class_sep,
        hypercube=spec.hypercube,
        shift=_array_or_scalar(spec.shift),
        scale=_array_or_scalar(spec.scale),
        shuffle=spec.shuffle,
        random_state=spec.random_state,
    )
    return _labelled(spec, x, y)


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p: np.ndarray = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return log_p


def _label_indices(rng: np.random.Generator, n: int, n_classes: int) -> np.ndarray:
    """1 to n_classes distinct labels per sample, ascending, then -1 padding."""
    order = rng.permuted(np.tile(np.arange(n_classes), (n, 1)), axis=1)
    counts = rng.integers(1, n_classes + 1, size=(n, 1))
    chosen = np.sort(np.where(np.arange(n_classes) < counts, order, n_classes), axis=1)
    return np.where(chosen == n_classes, -1, chosen)


def _random_targets(rng: np.random.Generator, spec: RandomSpec) -> np.ndarray:
    kind, size = spec.target_kind, (spec.n_samples, *spec.target_shape())
    classes = spec.num_classes() or 2
    if kind == TargetKind.CLASS_INDEX:
        return rng.integers(0, classes, size=size)
    if kind in {TargetKind.PROBABILITIES, TargetKind.LOG_PROBABILITIES}:
        log_p = _log_softmax(rng.standard_normal(size))
        return log_p if kind == TargetKind.LOG_PROBABILITIES else np.exp(log_p)
    if kind == TargetKind.MULTI_LABEL_INDICES:
        return _label_indices(rng, spec.n_samples, classes)
    if kind in {TargetKind.MULTI_LABEL, TargetKind.BINARY}:
        return rng.integers(0, 2, size=size)
    if kind == TargetKind.SIGN:
        return 2 * rng.integers(0, 2, size=size) - 1
    if kind == TargetKind.COUNT:
        return rng.poisson(RANDOM_COUNT_RATE, size=size)
    return rng.standard_normal(size)


def _random(spec: DatasetBase) -> TensorData:
    """x ~ N(0, 1) from numpy's Generator(random_state), then the targets from the same one."""
    assert isinstance(spec, RandomSpec)
    rng = np.random.default_rng(spec.random_state)
    x = rng.standard_normal((spec.n_samples, *spec.input_shape), dtype=np.float32)
    targets = _random_targets(rng, spec)
    dtype = torch.int64 if spec.target_kind in INTEGER_KINDS else torch.float32
    y = torch.as_tensor(targets, dtype=dtype)
    return TensorData(torch.as_tensor(x), y, spec.target_kind, spec.num_classes())


DATASETS: Registry[DatasetBase, Callable[[DatasetBase], TensorData]] = Registry(
    "dataset",
    {
        MoonsSpec: _moons,
        RegressionSpec: _regression,
        CirclesSpec: _circles,
        BlobsSpec: _blobs,
        ClassificationSpec: _classification,
        RandomSpec: _random,
    },
)


def build_dataset(spec: DatasetBase) -> TensorData:
    return DATASETS.builder(spec)(spec)
