"""Builders of the bundled scikit-learn sets, the IDX image sets and uploaded files."""

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn import datasets as sk_datasets

from training.build.data_tensors import TensorData, encode_labels, features
from training.datasets.errors import DataUnavailable
from training.datasets.files import Arrays, read_upload, upload_path
from training.datasets.idx import read_subset
from training.spec.data import (
    BreastCancerSpec,
    BundledClassesBase,
    DatasetBase,
    DiabetesSpec,
    DigitsSpec,
    IdxSetBase,
    IrisSpec,
    LinnerudSpec,
    UploadSpec,
    WineSpec,
)
from training.spec.targets import TargetKind

BUNDLED_LOADERS: dict[type[BundledClassesBase], Callable[[], Any]] = {
    IrisSpec: sk_datasets.load_iris,
    WineSpec: sk_datasets.load_wine,
    BreastCancerSpec: sk_datasets.load_breast_cancer,
    DigitsSpec: sk_datasets.load_digits,
}
HASH_CHUNK = 1 << 20


def bundled_classes(spec: DatasetBase, _data_dir: Path | None) -> TensorData:
    assert isinstance(spec, BundledClassesBase)
    bunch = BUNDLED_LOADERS[type(spec)]()
    x = features(bunch.data).reshape(-1, *spec.loaded_shape())
    y = encode_labels(np.asarray(bunch.target), spec.target_kind, spec.num_classes())
    return TensorData(x, y, spec.target_kind, spec.num_classes())


def diabetes(spec: DatasetBase, _data_dir: Path | None) -> TensorData:
    assert isinstance(spec, DiabetesSpec)
    bunch = sk_datasets.load_diabetes(scaled=spec.scaled)
    return TensorData(features(bunch.data), features(bunch.target).reshape(-1, 1), spec.kind())


def linnerud(spec: DatasetBase, _data_dir: Path | None) -> TensorData:
    assert isinstance(spec, LinnerudSpec)
    bunch = sk_datasets.load_linnerud()
    return TensorData(features(bunch.data), features(bunch.target), spec.kind())


def _root(spec: DatasetBase, data_dir: Path | None) -> Path:
    root = data_dir if data_dir is not None else spec.data_dir
    if root is None:
        raise DataUnavailable("this data set is read from files in the server's data directory")
    return root


def idx_set(spec: DatasetBase, data_dir: Path | None) -> TensorData:
    """Pixels scaled to [0, 1], as torchvision's ToTensor scales them."""
    assert isinstance(spec, IdxSetBase)
    images, labels = read_subset(
        _root(spec, data_dir), spec.directory, spec.train, spec.max_samples
    )
    if spec.info is not None and len(images) != spec.size():
        raise DataUnavailable(
            f"the {spec.directory} files now hold {len(images)} samples; the job was checked "
            f"against {spec.size()}"
        )
    x = torch.from_numpy(images).to(torch.float32).div_(255).reshape(-1, *spec.loaded_shape())
    return TensorData(x, encode_labels(labels, spec.target_kind, 10), spec.target_kind, 10)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def encode_upload(arrays: Arrays, spec: UploadSpec) -> torch.Tensor:
    """The upload's labels in the encoding spec.target_kind names."""
    kind, y = spec.target_kind, arrays.y
    if kind in {TargetKind.PROBABILITIES, TargetKind.BINARY, TargetKind.SIGN}:
        return encode_labels(y, kind, spec.num_classes() or 2)
    if kind == TargetKind.CLASS_INDEX:
        return torch.as_tensor(y, dtype=torch.int64)
    values = features(y)
    return values.reshape(-1, 1) if values.dim() == 1 else values


def upload(spec: DatasetBase, data_dir: Path | None) -> TensorData:
    """The uploaded file, checked against the sha256 the job was submitted with."""
    assert isinstance(spec, UploadSpec)
    if spec.info is None:
        raise DataUnavailable(f"upload {spec.id} was not resolved against the server's uploads")
    path = upload_path(_root(spec, data_dir), spec.id, spec.info.format)
    if not path.is_file():
        raise DataUnavailable(f"upload {spec.id} is no longer on the server")
    if file_sha256(path) != spec.info.sha256:
        raise DataUnavailable(f"upload {spec.id} changed since the job was submitted")
    arrays = read_upload(path, spec.info.format, spec.info.target_column)
    y = encode_upload(arrays, spec)
    return TensorData(torch.from_numpy(arrays.x), y, spec.target_kind, spec.num_classes())
