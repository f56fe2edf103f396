"""Generated data sets: metadata against the tensors, seeds, target encodings and metrics."""

from typing import Any

import numpy as np
import pytest
import torch
from pydantic import TypeAdapter, ValidationError
from sklearn.datasets import make_blobs, make_circles, make_classification

from training.build.data import TensorData, build_dataset
from training.evaluation import target_metrics
from training.spec.data import DatasetBase, DatasetSpec
from training.spec.targets import INTEGER_KINDS, TargetKind

DATASET: TypeAdapter[Any] = TypeAdapter(DatasetSpec)


def _spec(data: dict[str, Any]) -> DatasetBase:
    spec: DatasetBase = DATASET.validate_python(data)
    return spec


def _random(**fields: Any) -> dict[str, Any]:
    return {"type": "random", "n_samples": 30, "input_shape": [4]} | fields


EXAMPLES: dict[str, dict[str, Any]] = {
    "moons": {"type": "moons", "n_samples": 20, "noise": 0.1},
    "regression": {"type": "regression", "n_samples": 20, "n_features": 3, "n_targets": 2},
    "circles": {"type": "circles", "n_samples": 20},
    "circles-binary": {"type": "circles", "n_samples": 20, "target_kind": "binary"},
    "circles-sign": {"type": "circles", "n_samples": 20, "target_kind": "sign"},
    "blobs": {"type": "blobs", "n_samples": 20, "n_features": 5},
    "blobs-centers": {"type": "blobs", "n_samples": 20, "centers": [[0, 0, 1], [5, 5, 5]]},
    "blobs-one-hot": {
        "type": "blobs",
        "n_samples": 20,
        "centers": 4,
        "target_kind": "probabilities",
    },
    "classification": {
        "type": "classification",
        "n_samples": 20,
        "n_classes": 3,
        "n_informative": 3,
    },
    "articles-random": {
        "type": "random",
        "n_samples": 100,
        "input_shape": [1000],
        "target_shape": [10],
    },
    "random-class": _random(num_classes=3),
    "random-pixels": _random(input_shape=[2, 4, 5], num_classes=3, target_shape=[4, 5]),
    "random-probabilities": _random(num_classes=3, target_kind="probabilities"),
    "random-log-probabilities": _random(num_classes=3, target_kind="log_probabilities"),
    "random-multi-label": _random(num_classes=5, target_kind="multi_label"),
    "random-indices": _random(num_classes=5, target_kind="multi_label_indices"),
    "random-binary": _random(target_kind="binary"),
    "random-sign": _random(target_kind="sign", target_shape=[2]),
    "random-count": _random(target_kind="count"),
}
EXPECTED: dict[str, tuple[tuple[int, ...], tuple[int, ...], int | None]] = {
    "moons": ((2,), (), 2),
    "regression": ((3,), (2,), None),
    "circles": ((2,), (), 2),
    "circles-binary": ((2,), (1,), 2),
    "circles-sign": ((2,), (1,), 2),
    "blobs": ((5,), (), 3),
    "blobs-centers": ((3,), (), 2),
    "blobs-one-hot": ((2,), (4,), 4),
    "classification": ((20,), (), 3),
    "articles-random": ((1000,), (10,), None),
    "random-class": ((4,), (), 3),
    "random-pixels": ((2, 4, 5), (4, 5), 3),
    "random-probabilities": ((4,), (3,), 3),
    "random-log-probabilities": ((4,), (3,), 3),
    "random-multi-label": ((4,), (5,), 5),
    "random-indices": ((4,), (5,), 5),
    "random-binary": ((4,), (1,), 2),
    "random-sign": ((4,), (2,), 2),
    "random-count": ((4,), (1,), None),
}


@pytest.mark.parametrize("name", EXAMPLES)
def test_metadata_agrees_with_the_generated_tensors(name: str) -> None:
    spec = _spec(EXAMPLES[name])
    data = build_dataset(spec)
    assert (spec.sample_shape(), spec.target_shape(), spec.num_classes()) == EXPECTED[name]
    n = EXAMPLES[name]["n_samples"]
    assert data.x.shape == (n, *spec.sample_shape())
    assert data.y.shape == (n, *spec.target_shape())
    assert data.x.dtype == torch.float32
    assert data.y.dtype == (torch.int64 if data.target_kind in INTEGER_KINDS else torch.float32)
    assert data.num_classes == spec.num_classes()


@pytest.mark.parametrize("name", EXAMPLES)
def test_same_random_state_same_data_and_the_torch_seed_untouched(name: str) -> None:
    torch_state = torch.random.get_rng_state()
    first, second = build_dataset(_spec(EXAMPLES[name])), build_dataset(_spec(EXAMPLES[name]))
    assert torch.equal(torch.random.get_rng_state(), torch_state)
    assert torch.equal(first.x, second.x)
    assert torch.equal(first.y, second.y)
    other = build_dataset(_spec(EXAMPLES[name] | {"random_state": 9}))
    assert not torch.equal(first.x, other.x)


def _kind(name: str) -> TargetKind:
    kind: TargetKind = DATASET.validate_python(EXAMPLES[name]).target_kind
    return kind


def test_target_kinds_of_the_examples() -> None:
    assert _kind("moons") == TargetKind.CLASS_INDEX
    assert _kind("regression") == TargetKind.REGRESSION
    assert _kind("articles-random") == TargetKind.REGRESSION
    assert _kind("random-class") == TargetKind.CLASS_INDEX
    assert _kind("random-pixels") == TargetKind.CLASS_INDEX
    assert _kind("blobs-one-hot") == TargetKind.PROBABILITIES


def test_sklearn_sets_equal_sklearn_with_labels_encoded() -> None:
    x, y = make_circles(n_samples=20, random_state=0)
    binary = build_dataset(_spec(EXAMPLES["circles-binary"]))
    sign = build_dataset(_spec(EXAMPLES["circles-sign"]))
    assert torch.equal(binary.x, torch.tensor(x, dtype=torch.float32))
    assert binary.y.flatten().tolist() == y.astype(float).tolist()
    assert sign.y.flatten().tolist() == (2.0 * y - 1).tolist()
    x, y = make_blobs(n_samples=20, centers=4, random_state=0)
    one_hot = build_dataset(_spec(EXAMPLES["blobs-one-hot"]))
    assert torch.equal(one_hot.x, torch.tensor(x, dtype=torch.float32))
    assert one_hot.y.argmax(dim=1).tolist() == y.tolist()
    assert one_hot.y.sum(dim=1).tolist() == [1.0] * 20
    x, y = make_classification(n_samples=20, n_classes=3, n_informative=3, random_state=0)
    index = build_dataset(_spec(EXAMPLES["classification"]))
    assert torch.equal(index.x, torch.tensor(x, dtype=torch.float32))
    assert index.y.tolist() == y.tolist()


def test_random_features_come_first_from_numpys_generator() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((100, 1000), dtype=np.float32)
    y = rng.standard_normal((100, 10))
    data = build_dataset(_spec(EXAMPLES["articles-random"]))
    assert torch.equal(data.x, torch.from_numpy(x))
    assert torch.equal(data.y, torch.from_numpy(y).float())


def _targets(name: str) -> torch.Tensor:
    return build_dataset(_spec(EXAMPLES[name])).y


def test_random_targets_hold_what_their_kind_promises() -> None:
    assert set(_targets("random-class").tolist()) == {0, 1, 2}
    probabilities = _targets("random-probabilities")
    assert torch.allclose(probabilities.sum(dim=1), torch.ones(30))
    assert torch.all(probabilities > 0)
    log_p = _targets("random-log-probabilities")
    assert torch.allclose(log_p.exp().sum(dim=1), torch.ones(30))
    assert set(_targets("random-multi-label").unique().tolist()) == {0.0, 1.0}
    assert set(_targets("random-binary").unique().tolist()) == {0.0, 1.0}
    assert set(_targets("random-sign").unique().tolist()) == {-1.0, 1.0}
    counts = _targets("random-count")
    assert torch.all(counts >= 0)
    assert torch.equal(counts, counts.round())


def test_multi_label_indices_are_distinct_ascending_and_padded_with_minus_one() -> None:
    for row in _targets("random-indices").tolist():
        labels = [label for label in row if label != -1]
        assert len(labels) >= 1
        assert row == labels + [-1] * (5 - len(labels))
        assert labels == sorted(set(labels))
        assert all(0 <= label < 5 for label in labels)


def test_tensor_data_to_keeps_kind_and_classes() -> None:
    data = build_dataset(_spec(EXAMPLES["random-class"]))
    moved = data.to(torch.device("cpu"))
    assert (moved.target_kind, moved.num_classes) == (TargetKind.CLASS_INDEX, 3)


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (_random(target_kind="probabilities"), "probabilities targets need num_classes"),
        (_random(num_classes=3, target_kind="regression"), "regression targets take no num_clas"),
        (_random(target_kind="binary", target_shape=[2]), "binary targets have shape (1,)"),
        (_random(target_shape=[]), "need a target_shape with at least one size"),
        (_random(n_samples=100_000, input_shape=[1000]), "the limit is 50,000,000"),
        (
            {"type": "blobs", "target_kind": "binary"},
            "binary targets need 2 classes; this set has 3",
        ),
        ({"type": "blobs", "centers": [[0, 0], [1]]}, "the same, non-zero number of coordinates"),
        ({"type": "blobs", "cluster_std": [1.0, 2.0]}, "cluster_std needs one value per centre"),
        ({"type": "circles", "target_kind": "multi_label"}, "target_kind must be one of"),
        ({"type": "classification", "n_features": 3}, "n_informative + n_redundant"),
        ({"type": "classification", "n_classes": 3, "n_informative": 1}, "2**n_informative"),
        ({"type": "classification", "weights": [0.7, 0.6]}, "weights must sum to at most 1"),
        ({"type": "classification", "shift": [1.0]}, "shift needs one value per feature"),
    ],
)
def test_inconsistent_data_sets_are_refused(data: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ValidationError) as caught:
        _spec(data)
    assert fragment in str(caught.value)


def test_random_spec_speaks_the_names_users_write() -> None:
    spec = _spec(_random(num_classes=3, target_shape=[2]))
    assert spec.model_dump(mode="json") == _random(
        num_classes=3,
        target_shape=[2],
        target_kind="class_index",
        random_state=0,
        split=None,
        preprocessing=[],
        augmentation=[],
    )
    with pytest.raises(ValidationError):
        _spec(_random(num_classes_=3))


def _metrics(kind: TargetKind, outputs: list[Any], targets: list[Any]) -> dict[str, float]:
    return target_metrics("val", torch.tensor(outputs), torch.tensor(targets), kind)


def test_binary_accuracy_reads_logits_at_zero_and_probabilities_at_one_half() -> None:
    targets = [[1.0], [0.0], [1.0], [0.0]]
    logits = [[2.0], [-1.0], [0.3], [0.2]]
    probabilities = [[0.9], [0.1], [0.3], [0.2]]
    assert _metrics(TargetKind.BINARY, logits, targets) == {"val_accuracy": 0.75}
    assert _metrics(TargetKind.BINARY, probabilities, targets) == {"val_accuracy": 0.75}


def test_multi_label_accuracy_is_the_share_of_labels_right() -> None:
    targets = [[1.0, 0.0, 1.0], [0.0, 0.0, 1.0]]
    logits = [[1.0, 1.0, 1.0], [-1.0, -2.0, -3.0]]
    assert _metrics(TargetKind.MULTI_LABEL, logits, targets) == {"val_accuracy": 4 / 6}


def test_probability_accuracy_compares_argmaxes() -> None:
    targets = [[0.7, 0.2, 0.1], [0.1, 0.1, 0.8], [0.0, 1.0, 0.0]]
    outputs = [[3.0, 0.0, 1.0], [0.0, 2.0, 1.0], [0.0, 5.0, 1.0]]
    assert _metrics(TargetKind.PROBABILITIES, outputs, targets) == {"val_accuracy": 2 / 3}
    log_targets = torch.tensor(targets).clamp_min(1e-6).log().tolist()
    assert _metrics(TargetKind.LOG_PROBABILITIES, outputs, log_targets) == {"val_accuracy": 2 / 3}


@pytest.mark.parametrize(
    "kind", [TargetKind.SIGN, TargetKind.COUNT, TargetKind.MULTI_LABEL_INDICES]
)
def test_kinds_without_a_loss_independent_reading_get_no_metric(kind: TargetKind) -> None:
    assert _metrics(kind, [[1.0], [2.0]], [[1.0], [2.0]]) == {}


def test_target_data_keeps_positional_fields() -> None:
    data = TensorData(torch.zeros(2, 1), torch.zeros(2), TargetKind.CLASS_INDEX)
    assert data.num_classes is None
