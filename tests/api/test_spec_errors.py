"""Each kind of bad spec is a 422 whose detail names the field at fault and why."""

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.helpers import moons_spec

Headers = dict[str, str]
Spec = dict[str, Any]


def _set(path: str, value: Any) -> Callable[[Spec], None]:
    def change(spec: Spec) -> None:
        *parents, last = path.split(".")
        node: Any = spec
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value

    return change


CASES: list[tuple[str, Callable[[Spec], None], str, str]] = [
    (
        "unknown layer",
        _set("model.layers.1", {"type": "Swish"}),
        "spec.model.layers.1.type",
        "'Tanh'",
    ),
    ("unknown loss", _set("loss", {"type": "FocalLoss"}), "spec.loss.type", "'NLLLoss'"),
    ("unknown optimizer", _set("optimizer", {"type": "Lion"}), "spec.optimizer.type", "'Ranger'"),
    (
        "unknown schedule",
        _set("scheduler", {"type": "Warmup"}),
        "spec.scheduler.type",
        "'OneCycleLR'",
    ),
    ("unknown data set", _set("dataset", {"type": "imagenet"}), "spec.dataset.type", "'moons'"),
    ("negative lr", _set("optimizer.lr", -0.1), "spec.optimizer.lr", "greater than 0"),
    ("beta of 1", _set("optimizer.betas", [0.9, 1.0]), "spec.optimizer.betas.1", "less than 1"),
    (
        "milestones not increasing",
        _set("scheduler", {"type": "MultiStepLR", "milestones": [700, 200]}),
        "spec.scheduler.milestones",
        "increasing",
    ),
    (
        "lambda with another name",
        _set("scheduler", {"type": "LambdaLR", "lr_lambda": "0.9 ** epochs"}),
        "spec.scheduler.lr_lambda",
        "epochs",
    ),
    (
        "lambda importing",
        _set("scheduler", {"type": "LambdaLR", "lr_lambda": "__import__('os').getpid()"}),
        "spec.scheduler.lr_lambda",
        "not allowed",
    ),
    (
        "lambda with attribute access",
        _set("scheduler", {"type": "MultiplicativeLR", "lr_lambda": "epoch.real"}),
        "spec.scheduler.lr_lambda",
        "attribute",
    ),
    (
        "layer name used twice",
        _set(
            "model.layers",
            [
                {"type": "Linear", "out_features": 3, "name": "h"},
                {"type": "Tanh", "name": "h"},
                {"type": "Linear", "out_features": 2},
            ],
        ),
        "spec.model",
        "repeated: h",
    ),
    (
        "param group naming a missing layer",
        _set(
            "optimizer", {"type": "SGD", "lr": 0.1, "param_groups": [{"layers": ["head"], "lr": 1}]}
        ),
        "spec.optimizer.param_groups",
        "do not exist: head",
    ),
    ("loss that does not fit", _set("loss", {"type": "MSELoss"}), "spec.loss", "CrossEntropyLoss"),
    (
        "monitor that is never recorded",
        _set("training.early_stopping", {"monitor": "val_loss"}),
        "spec.training.early_stopping.monitor",
        "not recorded",
    ),
    (
        "in-place first layer",
        _set("model.layers.0", {"type": "ReLU", "inplace": True}),
        "spec.model.layers.0.inplace",
        "overwrite the training data",
    ),
    ("misspelt option", _set("training.epoch", 3), "spec.training.epoch", "Extra inputs"),
]


@pytest.mark.parametrize(
    ("change", "field", "reason"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_spec_is_422_naming_the_field(
    client: TestClient, alice: Headers, change: Callable[[Spec], None], field: str, reason: str
) -> None:
    spec = moons_spec()
    change(spec)
    response = client.post("/api/v1/jobs", json={"spec": spec}, headers=alice)
    assert response.status_code == 422, response.text
    errors = response.json()["detail"]
    assert [error["field"] for error in errors] == [field], errors
    assert reason in errors[0]["msg"]
    assert client.get("/api/v1/jobs", headers=alice).json()["items"] == []
