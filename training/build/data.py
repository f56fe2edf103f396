"""Data sets from data set specs, as float features and targets in torch tensors."""

import dataclasses
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from sklearn import datasets as sk_datasets

from training.build import data_files
from training.build.data_tensors import TensorData, encode_labels, features
from training.build.preprocessing import fit_preprocessing, preprocess, preprocessing_transform
from training.registry import Registry
from training.spec.data import (
    BlobsSpec,
    BreastCancerSpec,
    CirclesSpec,
    ClassificationSpec,
    DatasetBase,
    DiabetesSpec,
    DigitsSpec,
    FashionMnistSpec,
    IrisSpec,
    LabelledSetBase,
    LinearSpec,
    LinnerudSpec,
    MnistSpec,
    MoonsSpec,
    RandomSpec,
    RegressionSpec,
    UploadSpec,
    WineSpec,
)
from training.spec.targets import INTEGER_KINDS, TargetKind
from training.splits import Splits, split_data

__all__ = ["DATASETS", "TensorData", "build_dataset", "build_splits", "load_dataset"]

# the mean of the counts random count targets are drawn with
RANDOM_COUNT_RATE = 3.0


def _moons(spec: DatasetBase) -> TensorData:
    assert isinstance(spec, MoonsSpec)
    x, y = sk_datasets.make_moons(
        n_samples=spec.n_samples,
        shuffle=spec.shuffle,
        noise=spec.noise,
        random_state=spec.random_state,
    )
    targets = torch.as_tensor(y, dtype=torch.int64)
    return TensorData(features(x), targets, spec.target_kind, spec.num_classes())


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
    targets = features(y).reshape(spec.n_samples, spec.n_targets)
    return TensorData(features(x), targets, spec.target_kind)


def _labelled(spec: LabelledSetBase, x: np.ndarray, labels: np.ndarray) -> TensorData:
    """sklearn's class labels in the encoding spec.target_kind names."""
    targets = encode_labels(labels, spec.target_kind, spec.num_classes())
    return TensorData(features(x), targets, spec.target_kind, spec.num_classes())


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


def _linear(spec: DatasetBase) -> TensorData:
    """d2l's synthetic_data: X ~ N(0, 1), y = X @ (w * ones(d)) + b + noise * N(0, 1)."""
    assert isinstance(spec, LinearSpec)
    rng = np.random.default_rng(spec.random_state)
    x = rng.standard_normal((spec.n, spec.d))
    y = x @ np.full(spec.d, spec.w) + spec.b + spec.noise * rng.standard_normal(spec.n)
    return TensorData(features(x), features(y).reshape(-1, 1), spec.kind())


Builder = Callable[[DatasetBase, Path | None], TensorData]


def _generated(make: Callable[[DatasetBase], TensorData]) -> Builder:
    """A builder for a set generated from its spec alone, needing no files."""
    return lambda spec, _data_dir: make(spec)


DATASETS: Registry[DatasetBase, Builder] = Registry(
    "dataset",
    {
        MoonsSpec: _generated(_moons),
        RegressionSpec: _generated(_regression),
        CirclesSpec: _generated(_circles),
        BlobsSpec: _generated(_blobs),
        ClassificationSpec: _generated(_classification),
        RandomSpec: _generated(_random),
        LinearSpec: _generated(_linear),
        IrisSpec: data_files.bundled_classes,
        WineSpec: data_files.bundled_classes,
        BreastCancerSpec: data_files.bundled_classes,
        DigitsSpec: data_files.bundled_classes,
        DiabetesSpec: data_files.diabetes,
        LinnerudSpec: data_files.linnerud,
        MnistSpec: data_files.idx_set,
        FashionMnistSpec: data_files.idx_set,
        UploadSpec: data_files.upload,
    },
)


def load_dataset(spec: DatasetBase, data_dir: Path | None = None) -> TensorData:
    """All the set's samples as loaded: not split, not preprocessed.

    Args:
        spec: the data set spec.
        data_dir: the server's data directory, for sets read from files; None uses the one the
            spec was bound to.
    """
    return DATASETS.builder(spec)(spec, data_dir)


def build_splits(spec: DatasetBase, data_dir: Path | None = None) -> Splits:
    """The set split as spec.split says, preprocessing fitted on the training split."""
    return preprocess(split_data(load_dataset(spec, data_dir), spec.split), spec.preprocessing)


def build_dataset(
    spec: DatasetBase, data_dir: Path | None = None, *, limit: int | None = None
) -> TensorData:
    """The samples the network trains on: the training split, preprocessed.

    With limit, the set's first `limit` samples instead, unsplit and preprocessed as if they
    were the training split: the few samples of a dry run.
    """
    if limit is None:
        return build_splits(spec, data_dir).train
    data = load_dataset(spec, data_dir).take(slice(0, limit))
    return data if not spec.preprocessing else _prepared(data, spec)


def _prepared(data: TensorData, spec: DatasetBase) -> TensorData:
    fitted = fit_preprocessing(spec.preprocessing, data.x)
    x = preprocessing_transform(fitted)(data.x)
    return dataclasses.replace(data, x=x, preprocessing=fitted)
