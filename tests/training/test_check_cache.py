"""The submission checks' cache: keyed by all the result reads, bounded, and never shared state."""

import copy
from collections.abc import Iterator
from dataclasses import FrozenInstanceError
from typing import Any

import pytest
import torch

from training.check_cache import CheckCache, check_key
from training.checks import FINDINGS, Problem, compute_findings, findings, static_problems
from training.spec import TrainingSpec

# 4 outputs for 3 classes: a warning naming the last layer, so its name and index show too
BASE: dict[str, Any] = {
    "dataset": {"type": "random", "n_samples": 64, "input_shape": [4], "num_classes": 3},
    "model": {
        "layers": [
            {"type": "Linear", "out_features": 8},
            {"type": "ReLU"},
            {"type": "Linear", "out_features": 4},
        ]
    },
    "loss": {"type": "CrossEntropyLoss"},
    "optimizer": {"type": "SGD", "lr": 0.1},
    "training": {"epochs": 2, "batch_size": 8, "seed": 0},
}
SOFTMAX_HEAD = [*BASE["model"]["layers"], {"type": "Softmax"}]

# each changes what the checks find: (the change, a word only the new findings hold)
RESULT_CHANGES: list[tuple[dict[str, Any], str]] = [
    ({"model.layers.2.out_features": 2}, "gives 2 outputs per sample"),
    ({"model.layers.2.name": "head"}, "'head'"),
    ({"model.layers.0.out_features": 9}, ""),  # the parameter count only
    ({"model.layers": SOFTMAX_HEAD}, "applies it twice"),
    ({"dataset.num_classes": 2}, "only 2 classes"),
    ({"dataset.input_shape": [2, 4]}, "gives 2 outputs per sample"),
    ({"dataset.target_kind": "probabilities"}, "cannot use"),
    ({"dataset.target_shape": [5]}, "per-sample shape (5,)"),
    ({"loss": {"type": "NLLLoss"}}, "NLLLoss expects"),
    ({"loss": {"type": "CrossEntropyLoss", "weight": [1.0, 1.0, 2.0]}}, "weight"),
]
# each leaves the checks' inputs as they are: the cached result is used
SAME_CHECKS = [
    {"optimizer.lr": 0.01},
    {"training.seed": 7},
    {"training.epochs": 9},
    {"training.batch_size": 16},
    {"dataset.n_samples": 128},
    {"dataset.random_state": 3},
]


def _spec(changes: dict[str, Any] | None = None) -> TrainingSpec:
    raw = copy.deepcopy(BASE)
    for path, value in (changes or {}).items():
        *parents, leaf = path.split(".")
        node: Any = raw
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        node[int(leaf) if leaf.isdigit() else leaf] = value
    return TrainingSpec.model_validate(raw)


@pytest.fixture(autouse=True)
def empty_cache() -> Iterator[None]:
    FINDINGS.clear()
    yield
    FINDINGS.clear()


@pytest.mark.parametrize(("changes", "shown"), RESULT_CHANGES, ids=lambda c: str(c)[:40])
def test_a_change_the_checks_read_is_a_new_key_and_its_own_result(
    changes: dict[str, Any], shown: str
) -> None:
    base, changed = _spec(), _spec(changes)
    assert check_key(changed) != check_key(base)
    kept = findings(base)
    assert findings(changed) == compute_findings(changed) != kept
    messages = " | ".join(problem.message for problem in static_problems(changed))
    assert shown in messages
    assert len(FINDINGS) == 2


def test_the_target_kind_alone_is_a_new_key() -> None:
    """Regression and count targets have the same shape and dtype; only the messages differ."""
    specs = [
        _spec(
            {
                "dataset": {"type": "random", "input_shape": [4], "target_kind": kind},
                "loss": {"type": "MSELoss"},
            }
        )
        for kind in ("regression", "count")
    ]
    assert check_key(specs[0]) != check_key(specs[1])
    assert "regression targets" in static_problems(specs[0])[0].message
    assert "count targets" in static_problems(specs[1])[0].message


@pytest.mark.parametrize("changes", SAME_CHECKS, ids=lambda c: str(c))
def test_a_change_the_checks_do_not_read_reuses_the_result(changes: dict[str, Any]) -> None:
    base, changed = _spec(), _spec(changes)
    assert check_key(changed) == check_key(base)
    assert findings(changed) is findings(base)
    assert len(FINDINGS) == 1


def test_the_default_dtype_is_part_of_the_key() -> None:
    spec = _spec()
    key = check_key(spec)
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        assert check_key(spec) != key
    finally:
        torch.set_default_dtype(before)
    assert check_key(spec) == key


def test_a_cached_result_is_not_shared_mutable_state() -> None:
    spec = _spec()
    first = static_problems(spec)
    expected = list(first)
    assert expected, "the base spec has a warning to keep"
    first.append(Problem(("model",), "added by a caller"))
    del first[0]
    assert static_problems(spec) == expected
    with pytest.raises(FrozenInstanceError):
        expected[0].message = "changed by a caller"  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError):
        findings(spec).n_parameters = 0  # type: ignore[misc]
    assert isinstance(findings(spec).problems, tuple)


def test_a_shape_error_is_cached_with_no_parameter_count() -> None:
    conv = {"type": "Conv1d", "out_channels": 2, "kernel_size": 3}
    spec = _spec({"dataset.input_shape": [1, 4, 4], "model.layers.0": conv})
    found = findings(spec)
    assert found.n_parameters is None
    assert [problem.loc for problem in found.problems] == [("model", "layers", 0)]
    assert findings(spec) is found


def test_the_least_recently_used_result_is_dropped_first() -> None:
    cache: CheckCache[int] = CheckCache(size=2)
    assert cache.get("a", lambda: 1) == 1
    assert cache.get("b", lambda: 2) == 2
    assert cache.get("a", lambda: -1) == 1  # a is now the most recent
    assert cache.get("c", lambda: 3) == 3
    assert len(cache) == 2
    assert cache.get("a", lambda: -1) == 1
    assert cache.get("b", lambda: 20) == 20


def test_an_exception_is_raised_and_not_kept() -> None:
    cache: CheckCache[int] = CheckCache()

    def fails() -> int:
        raise RuntimeError("check failed")

    with pytest.raises(RuntimeError, match="check failed"):
        cache.get("a", fails)
    assert len(cache) == 0
    assert cache.get("a", lambda: 1) == 1
