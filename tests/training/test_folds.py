"""k-fold splits: folds partition the samples, keep class shares, follow the seed; a fold trains."""

from typing import Any

import numpy as np
import pytest
import torch
from pydantic import TypeAdapter, ValidationError
from sklearn.datasets import make_moons
from torch import nn

from tests.helpers import moons_spec
from training.build.data import build_splits
from training.build.data_report import data_report
from training.loop import fit
from training.run import build_run
from training.sinks import ListSink
from training.spec import TrainingSpec
from training.spec.data import DatasetBase, DatasetSpec
from training.spec.preprocessing import SplitSpec
from training.splits import fold_indices, split_indices

DATASET: TypeAdapter[Any] = TypeAdapter(DatasetSpec)
ATOL = 1e-6


@pytest.mark.parametrize(
    ("n", "folds", "test"), [(10, 2, 0.0), (101, 5, 0.2), (57, 4, 7), (23, 20, 0.1)]
)
def test_folds_and_test_partition_the_samples(n: int, folds: int, test: float | int) -> None:
    spec = SplitSpec(folds=folds, test=test, seed=3)
    parts, held_out = fold_indices(n, spec)
    assert len(parts) == folds
    every = np.concatenate([*parts, held_out])
    assert sorted(every.tolist()) == list(range(n))  # disjoint and covering
    sizes = [len(part) for part in parts]
    assert max(sizes) - min(sizes) <= 1
    assert sizes == spec.fold_sizes(n)
    for fold in range(folds):
        train, val, fold_test = split_indices(n, spec.model_copy(update={"fold": fold}))
        assert np.array_equal(val, parts[fold])
        assert np.array_equal(fold_test, held_out)  # the same test split for every fold
        others = np.concatenate([p for i, p in enumerate(parts) if i != fold])
        assert np.array_equal(train, np.sort(others))
        assert (len(train), len(val), len(fold_test)) == spec.model_copy(
            update={"fold": fold}
        ).sizes(n)


def test_unstratified_folds_hold_out_the_test_split_a_plain_split_would() -> None:
    _, held_out = fold_indices(80, SplitSpec(folds=4, test=0.25, seed=9))
    assert np.array_equal(held_out, split_indices(80, SplitSpec(test=0.25, seed=9))[2])


@pytest.mark.parametrize("seed", range(10))
def test_stratified_folds_keep_class_shares_within_one_sample(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n_classes = int(rng.integers(2, 6))
    labels = rng.choice(
        n_classes, size=int(rng.integers(60, 300)), p=rng.dirichlet([0.8] * n_classes)
    )
    spec = SplitSpec(folds=int(rng.integers(2, 8)), test=0.15, stratify=True, seed=seed)
    parts, held_out = fold_indices(len(labels), spec, labels)
    assert sorted(np.concatenate([*parts, held_out]).tolist()) == list(range(len(labels)))
    assert [len(p) for p in parts] == spec.fold_sizes(len(labels))
    for part in [*parts, held_out]:
        for label in range(n_classes):
            exact = len(part) * np.mean(labels == label)
            assert abs(np.sum(labels[part] == label) - exact) < 1 + 1e-9


def test_folds_are_fixed_by_the_split_seed() -> None:
    labels = np.array([0, 1] * 30)
    for stratify in (False, True):
        spec = SplitSpec(folds=3, stratify=stratify, seed=4)
        first, again = fold_indices(60, spec, labels), fold_indices(60, spec, labels)
        other = fold_indices(60, spec.model_copy(update={"seed": 5}), labels)
        assert all(np.array_equal(a, b) for a, b in zip(first[0], again[0], strict=True))
        assert not all(np.array_equal(a, b) for a, b in zip(first[0], other[0], strict=True))


@pytest.mark.parametrize(
    ("split", "message"),
    [
        ({"folds": 3, "val": 0.2}, "folds and val exclude each other"),
        ({"fold": 1}, "fold needs folds"),
        ({"folds": 3, "fold": 3}, "fold must be below folds (3)"),
        ({"folds": 1}, "greater than or equal to 2"),
        ({"folds": 21}, "less than or equal to 20"),
    ],
)
def test_bad_fold_specs_are_rejected(split: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        SplitSpec.model_validate(split)


def test_more_folds_than_samples_is_rejected_at_split_folds() -> None:
    with pytest.raises(ValidationError) as caught:
        DATASET.validate_python(
            {"type": "moons", "n_samples": 12, "split": {"folds": 5, "test": 8}}
        )
    error = caught.value.errors()[0]
    assert error["loc"][-2:] == ("split", "folds")
    assert "5 folds need at least 5 samples besides the test ones; there are 4" in error["msg"]


def _dataset(data: dict[str, Any]) -> DatasetBase:
    spec: DatasetBase = DATASET.validate_python(data)
    return spec


def test_the_report_says_folds_and_the_fold_splits() -> None:
    spec = _dataset(
        {"type": "moons", "n_samples": 103, "split": {"folds": 4, "test": 3, "stratify": True}}
    )
    report = data_report(spec)
    assert (report.folds, report.fold_sizes) == (4, [25, 25, 25, 25])
    assert {name: s.n_samples for name, s in report.splits.items()} == {
        "train": 75,
        "val": 25,
        "test": 3,
    }
    splits = build_splits(spec)
    assert splits.val is not None
    assert len(splits.train) == 75
    assert abs(int((splits.val.y == 1).sum()) - 25 * 0.5) <= 1


def test_a_fold_trains_as_a_hand_written_loop_on_its_indices() -> None:
    spec = moons_spec(epochs=25, seed=3)
    spec["dataset"]["split"] = {"folds": 4, "fold": 2, "test": 0.1, "seed": 5}
    spec["scheduler"] = None
    sink = ListSink()
    fit(build_run(TrainingSpec.model_validate(spec), torch.device("cpu")), sink)

    x_all, y_all = make_moons(n_samples=200, noise=0.2, random_state=0)
    x = torch.tensor(x_all, dtype=torch.float32)
    y = torch.tensor(y_all, dtype=torch.int64)
    parts, _ = fold_indices(200, SplitSpec(folds=4, test=0.1, seed=5))
    train = torch.from_numpy(np.sort(np.concatenate([parts[0], parts[1], parts[3]])))
    val = torch.from_numpy(parts[2])
    torch.manual_seed(3)
    net = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 2))
    optimizer = torch.optim.Adam(net.parameters(), lr=0.01)
    loss_fn = nn.CrossEntropyLoss()
    train_losses, val_losses = [], []
    for _ in range(25):
        optimizer.zero_grad()
        loss = loss_fn(net(x[train]), y[train])
        loss.backward()
        optimizer.step()
        train_losses.append(loss.item())
        with torch.no_grad():
            val_losses.append(loss_fn(net(x[val]), y[val]).item())

    assert (len(train), len(val)) == (135, 45)
    assert [e["train_loss"] for e in sink.epochs] == pytest.approx(train_losses, abs=ATOL)
    assert [e["val_loss"] for e in sink.epochs] == pytest.approx(val_losses, abs=ATOL)
