"""scikit-learn's bundled sets: offline, their metadata equal to their tensors, encodings."""

from typing import Any

import numpy as np
import pytest
import torch
from pydantic import TypeAdapter, ValidationError
from sklearn import datasets as sk_datasets

from training.build.data import build_dataset
from training.spec.data import DatasetBase, DatasetSpec
from training.spec.targets import TargetKind

DATASET: TypeAdapter[Any] = TypeAdapter(DatasetSpec)


def _spec(data: dict[str, Any]) -> DatasetBase:
    spec: DatasetBase = DATASET.validate_python(data)
    return spec


BUNDLED = [
    ({"type": "iris"}, sk_datasets.load_iris, 3),
    ({"type": "wine"}, sk_datasets.load_wine, 3),
    ({"type": "breast_cancer"}, sk_datasets.load_breast_cancer, 2),
    ({"type": "digits"}, sk_datasets.load_digits, 10),
    ({"type": "diabetes"}, sk_datasets.load_diabetes, None),
    ({"type": "linnerud"}, sk_datasets.load_linnerud, None),
]


@pytest.mark.parametrize(("data", "load", "classes"), BUNDLED, ids=lambda v: str(v)[:24])
def test_bundled_sets_match_scikit_learn_and_their_metadata(
    data: dict[str, Any], load: Any, classes: int | None
) -> None:
    spec = _spec(data)
    tensors = build_dataset(spec)
    bunch = load()
    assert tensors.x.dtype == torch.float32
    assert tensors.x.numpy() == pytest.approx(bunch.data.astype(np.float32))
    assert (len(tensors), spec.size()) == (len(bunch.data), len(bunch.data))
    assert tensors.sample_shape == spec.sample_shape()
    assert tuple(tensors.y.shape[1:]) == spec.target_shape()
    assert tensors.num_classes == spec.num_classes() == classes
    assert tensors.target_kind == spec.kind()
    target = np.asarray(bunch.target).reshape(len(tensors), *spec.target_shape())
    assert tensors.y.numpy() == pytest.approx(target)


def test_digits_as_images_for_conv_nets() -> None:
    images = build_dataset(_spec({"type": "digits", "flatten": False}))
    flat = build_dataset(_spec({"type": "digits"}))
    assert images.x.shape == (1797, 1, 8, 8)
    assert torch.equal(images.x.reshape(1797, 64), flat.x)


def test_diabetes_unscaled_is_the_raw_measurements() -> None:
    raw = build_dataset(_spec({"type": "diabetes", "scaled": False}))
    assert raw.x.numpy() == pytest.approx(
        sk_datasets.load_diabetes(scaled=False).data.astype(np.float32)
    )


def test_labels_as_one_hot_binary_and_sign() -> None:
    labels = sk_datasets.load_breast_cancer().target
    one_hot = build_dataset(_spec({"type": "breast_cancer", "target_kind": "probabilities"}))
    assert one_hot.target_kind == TargetKind.PROBABILITIES
    assert torch.equal(one_hot.y.argmax(dim=1), torch.as_tensor(labels))
    assert torch.equal(one_hot.y.sum(dim=1), torch.ones(len(labels)))
    binary = build_dataset(_spec({"type": "breast_cancer", "target_kind": "binary"}))
    assert binary.y[:, 0].tolist() == labels.astype(float).tolist()
    sign = build_dataset(_spec({"type": "breast_cancer", "target_kind": "sign"}))
    assert sign.y[:, 0].tolist() == (2.0 * labels - 1).tolist()
    iris = build_dataset(_spec({"type": "iris", "target_kind": "probabilities"}))
    assert iris.y.shape == (150, 3)
    with pytest.raises(ValidationError, match="binary targets need 2 classes"):
        _spec({"type": "iris", "target_kind": "binary"})
