"""Fitted preprocessing as plain numbers: it rebuilds exactly the transform training applied."""

from typing import Any

import torch
from pydantic import TypeAdapter

from training.build.data import build_splits, load_dataset
from training.build.fitted import FittedMinMaxScaler, FittedPreprocessing, FittedStandardScaler
from training.build.preprocessing import preprocessing_transform
from training.spec.data import DatasetBase, DatasetSpec
from training.splits import split_indices

DATASET: TypeAdapter[Any] = TypeAdapter(DatasetSpec)
IMAGES = {"type": "random", "n_samples": 50, "input_shape": [3, 6, 6], "num_classes": 2}


def _dataset(data: dict[str, Any]) -> DatasetBase:
    spec: DatasetBase = DATASET.validate_python(data)
    return spec


def test_the_fitted_steps_after_a_json_round_trip_redo_training_exactly() -> None:
    steps: list[dict[str, Any]] = [
        {"type": "MinMaxScaler", "per_channel": True, "feature_range": [-1, 1], "clip": True},
        {"type": "Normalize", "mean": [0.1, 0.0, -0.2], "std": [2.0, 1.0, 0.5]},
        {"type": "Resize", "size": [8, 8]},
        {"type": "CenterCrop", "size": [5, 5]},
        {"type": "StandardScaler"},
        {"type": "StandardScaler", "with_mean": False, "per_channel": True},
    ]
    spec = _dataset(IMAGES | {"preprocessing": steps, "split": {"val": 10, "seed": 2}})
    splits = build_splits(spec)
    fitted = splits.train.preprocessing
    assert fitted is not None
    assert fitted.raw_shape == (3, 6, 6)
    assert [step.type for step in fitted.steps] == [s["type"] for s in steps]
    again = FittedPreprocessing.model_validate_json(fitted.model_dump_json())
    assert again == fitted
    assert spec.split is not None
    train, val, _ = split_indices(50, spec.split)
    raw = load_dataset(spec).x
    transform = preprocessing_transform(again)
    assert torch.equal(transform(raw[torch.from_numpy(train)]), splits.train.x)
    assert splits.val is not None
    assert torch.equal(transform(raw[torch.from_numpy(val)]), splits.val.x)


def test_the_statistics_are_those_of_the_training_split() -> None:
    spec = _dataset(
        {
            "type": "blobs",
            "n_samples": 60,
            "n_features": 2,
            "center_box": [500, 600],
            "split": {"test": 20},
            "preprocessing": [{"type": "StandardScaler"}, {"type": "MinMaxScaler"}],
        }
    )
    assert spec.split is not None
    train, _, _ = split_indices(60, spec.split)
    x = load_dataset(spec).x[torch.from_numpy(train)]
    fitted = build_splits(spec).train.preprocessing
    assert fitted is not None
    scaler, rescale = fitted.steps
    assert isinstance(scaler, FittedStandardScaler)
    assert isinstance(rescale, FittedMinMaxScaler)
    assert scaler.shape == (2,)
    assert scaler.mean == x.mean(dim=0).tolist()
    assert scaler.std == x.std(dim=0, correction=0).tolist()
    standardised = (x - x.mean(dim=0)) / x.std(dim=0, correction=0)
    low, high = standardised.amin(dim=0), standardised.amax(dim=0)
    assert torch.allclose(torch.tensor(rescale.scale), 1 / (high - low))
    assert rescale.clip is None


def test_a_set_without_preprocessing_carries_none() -> None:
    assert build_splits(_dataset(IMAGES)).train.preprocessing is None
