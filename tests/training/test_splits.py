"""Splits: sizes, seeds, stratification, what the loop records per split, and batch arithmetic."""

from typing import Any

import numpy as np
import pytest
import torch
from pydantic import TypeAdapter, ValidationError

from tests.helpers import moons_spec
from training.build.data import build_splits, load_dataset
from training.build.data_report import data_report
from training.loop import fit
from training.run import build_run
from training.sinks import ListSink
from training.spec import TrainingSpec
from training.spec.data import DatasetBase, DatasetSpec
from training.spec.preprocessing import SplitSpec
from training.splits import split_indices

DATASET: TypeAdapter[Any] = TypeAdapter(DatasetSpec)


def _dataset(data: dict[str, Any]) -> DatasetBase:
    spec: DatasetBase = DATASET.validate_python(data)
    return spec


@pytest.mark.parametrize(
    ("n", "split", "sizes"),
    [
        (200, {"val": 0.15, "test": 0.15}, (140, 30, 30)),
        (1000, {"val": 0.15, "test": 0.15}, (700, 150, 150)),
        (101, {"val": 0.1}, (90, 11, 0)),  # fractions round up, as train_test_split's test size
        (120, {"test": 100}, (20, 0, 100)),  # a count, as the weight-decay article's 20/100
        (10, {}, (10, 0, 0)),
    ],
)
def test_split_sizes(n: int, split: dict[str, Any], sizes: tuple[int, int, int]) -> None:
    spec = SplitSpec.model_validate(split)
    assert spec.sizes(n) == sizes
    train, val, test = split_indices(n, spec)
    assert (len(train), len(val), len(test)) == sizes
    assert sorted(np.concatenate([train, val, test]).tolist()) == list(range(n))


def test_a_split_is_fixed_by_its_own_seed_not_the_training_seed() -> None:
    spec = SplitSpec(val=0.2, test=0.2)
    first, again = split_indices(50, spec), split_indices(50, spec)
    other = split_indices(50, SplitSpec(val=0.2, test=0.2, seed=1))
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert not np.array_equal(first[2], other[2])
    runs = [
        build_run(TrainingSpec.model_validate(_moons_split(seed=seed)), torch.device("cpu"))
        for seed in (0, 1)
    ]
    assert runs[0].test is not None
    assert runs[1].test is not None
    assert torch.equal(runs[0].test.x, runs[1].test.x)


@pytest.mark.parametrize("seed", range(12))
def test_stratified_class_shares_are_within_one_sample_of_exact(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n_classes = int(rng.integers(2, 9))
    labels = rng.choice(
        n_classes, size=int(rng.integers(40, 400)), p=rng.dirichlet([0.7] * n_classes)
    )
    spec = SplitSpec(
        val=float(rng.uniform(0.05, 0.3)),
        test=float(rng.uniform(0.05, 0.3)),
        stratify=True,
        seed=seed,
    )
    parts = split_indices(len(labels), spec, labels)
    assert sorted(np.concatenate(parts).tolist()) == list(range(len(labels)))
    assert tuple(len(p) for p in parts) == spec.sizes(len(labels))
    for part in parts:
        for label in range(n_classes):
            exact = len(part) * np.mean(labels == label)
            assert abs(np.sum(labels[part] == label) - exact) < 1 + 1e-9


def test_unstratified_splits_can_miss_class_shares_stratified_ones_keep() -> None:
    labels = np.array([0] * 90 + [1] * 10)
    shares = []
    for seed in range(20):
        _, _, test = split_indices(100, SplitSpec(test=0.2, seed=seed), labels)
        shares.append(int(np.sum(labels[test] == 1)))
    assert len(set(shares)) > 1
    _, _, test = split_indices(100, SplitSpec(test=0.2, stratify=True), labels)
    assert int(np.sum(labels[test] == 1)) == 2


def _moons_split(**training: Any) -> dict[str, Any]:
    spec = moons_spec(epochs=4, **training)
    spec["dataset"]["split"] = {"val": 0.15, "test": 0.15, "stratify": True}
    return spec


def test_the_loop_evaluates_val_every_epoch_and_test_at_the_end() -> None:
    spec = TrainingSpec.model_validate(_moons_split())
    assert spec.n_train_samples() == 140
    assert {"val_loss", "val_accuracy"} <= spec.recorded_metrics()
    run = build_run(spec, torch.device("cpu"))
    assert (len(run.train), len(run.val or []), len(run.test or [])) == (140, 30, 30)
    sink = ListSink()
    result = fit(run, sink)
    assert all({"val_loss", "val_accuracy", "train_loss"} <= set(e) for e in sink.epochs)
    assert set(result.test_metrics) == {"test_loss", "test_accuracy"}
    assert result.best_metrics["val_loss"] == min(e["val_loss"] for e in sink.epochs)


def test_regression_splits_record_r2_and_mae() -> None:
    spec = moons_spec(epochs=2)
    spec["dataset"] = {"type": "linear", "n": 60, "d": 5, "split": {"val": 10, "test": 10}}
    spec["model"] = {"layers": [{"type": "Linear", "out_features": 1}]}
    spec["loss"], spec["scheduler"] = {"type": "MSELoss"}, None
    sink = ListSink()
    result = fit(build_run(TrainingSpec.model_validate(spec), torch.device("cpu")), sink)
    assert {"val_r2", "val_mae", "val_loss"} <= set(sink.epochs[-1])
    assert {"test_r2", "test_mae", "test_loss"} == set(result.test_metrics)


def test_early_stopping_and_plateau_default_to_val_loss_with_a_val_split() -> None:
    spec = _moons_split()
    spec["optimizer"] = {"type": "SGD", "lr": 0.1}
    spec["scheduler"] = {"type": "ReduceLROnPlateau", "patience": 0, "threshold": 0.5}
    spec["training"] = {"epochs": 50, "early_stopping": {"patience": 2, "min_delta": 1.0}}
    sink = ListSink()
    result = fit(build_run(TrainingSpec.model_validate(spec), torch.device("cpu")), sink)
    assert result.stop_reason == "early_stopped"
    stop = next(e for e in sink.events if e["kind"] == "early_stopped")
    plateau = next(e for e in sink.events if e["kind"] == "lr_reduced_on_plateau")
    assert stop["monitor"] == plateau["monitor"] == "val_loss"


def test_monitoring_val_metrics_needs_a_val_split() -> None:
    spec = moons_spec(epochs=3)
    spec["training"]["early_stopping"] = {"monitor": "val_accuracy", "mode": "max"}
    with pytest.raises(ValidationError, match="'val_accuracy' is not recorded"):
        TrainingSpec.model_validate(spec)
    spec["dataset"]["split"] = {"val": 0.2}
    TrainingSpec.model_validate(spec)


@pytest.mark.parametrize(
    ("split", "loc", "fragment"),
    [
        ({"val": 0.6, "test": 0.4}, ("split",), "must leave a share for training"),
        ({"val": 150, "test": 50}, ("split",), "training needs at least one"),
        ({"val": 1.5}, ("split", "val"), ""),
    ],
)
def test_splits_that_leave_nothing_to_train_are_refused(
    split: dict[str, Any], loc: tuple[str, ...], fragment: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        _dataset({"type": "moons", "n_samples": 200, "split": split})
    assert fragment in str(caught.value)
    assert caught.value.errors()[0]["loc"][1 : 1 + len(loc)] == loc


def test_stratifying_needs_one_class_label_per_sample() -> None:
    with pytest.raises(ValidationError) as caught:
        _dataset({"type": "diabetes", "split": {"val": 0.2, "stratify": True}})
    assert caught.value.errors()[0]["loc"][1:] == ("split", "stratify")
    pixels = {"type": "random", "input_shape": [2, 3], "num_classes": 3, "target_shape": [3]}
    with pytest.raises(ValidationError, match="stratify needs one class label"):
        _dataset(pixels | {"split": {"val": 0.2, "stratify": True}})
    for kind in ("probabilities", "binary", "sign"):
        spec = _dataset(
            {"type": "breast_cancer", "target_kind": kind, "split": {"test": 0.2, "stratify": True}}
        )
        test = build_splits(spec).test
        assert test is not None
        assert len(test) == 114


def test_no_split_trains_on_every_sample_unchanged() -> None:
    spec = _dataset({"type": "moons", "n_samples": 200, "noise": 0.2})
    splits = build_splits(spec)
    loaded = load_dataset(spec)
    assert (splits.val, splits.test) == (None, None)
    assert torch.equal(splits.train.x, loaded.x)
    assert torch.equal(splits.train.y, loaded.y)


@pytest.mark.parametrize(
    ("n", "batch_size", "drop_last", "split", "iterations"),
    [
        (50_000, 256, False, None, 196),
        (50_000, 256, True, None, 195),
        (1000, 256, False, {"val": 0.2}, 4),  # 800 training samples
        (1000, None, False, {"val": 0.2}, 1),
        (30, 1, False, {"test": 10}, 20),
    ],
)
def test_iterations_per_epoch_follow_the_fourth_articles_arithmetic(
    n: int, batch_size: int | None, drop_last: bool, split: dict[str, Any] | None, iterations: int
) -> None:
    spec = {
        "dataset": {
            "type": "random",
            "n_samples": n,
            "input_shape": [1],
            "num_classes": 2,
            "split": split,
        },
        "model": {"layers": [{"type": "Linear", "out_features": 2}]},
        "loss": {"type": "CrossEntropyLoss"},
        "optimizer": {"type": "SGD", "lr": 0.1},
        "training": {"epochs": 1, "batch_size": batch_size, "drop_last": drop_last},
    }
    sink = ListSink()
    fit(build_run(TrainingSpec.model_validate(spec), torch.device("cpu")), sink)
    assert sink.epochs[0]["iterations"] == iterations
    assert sink.epochs[0]["step"] == iterations


def test_the_data_report_counts_samples_and_classes_per_split() -> None:
    spec = _dataset({"type": "iris", "split": {"val": 0.15, "test": 0.15, "stratify": True}})
    report = data_report(spec)
    assert (report.n_samples, report.sample_shape, report.target_kind) == (150, (4,), "class_index")
    assert {name: split.n_samples for name, split in report.splits.items()} == {
        "train": 104,
        "val": 23,
        "test": 23,
    }
    for split in report.splits.values():
        assert split.class_counts is not None
        assert sum(split.class_counts.values()) == split.n_samples
        assert all(abs(count - split.n_samples / 3) < 1 for count in split.class_counts.values())
    regression = data_report(_dataset({"type": "diabetes"}))
    assert regression.splits["train"].class_counts is None
    assert list(regression.splits) == ["train"]
    large = data_report(spec, max_values=100)
    assert large.splits["val"].n_samples == 23
    assert large.splits["val"].class_counts is None
