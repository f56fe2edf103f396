"""POST /jobs/validate and the shape checks every submission goes through."""

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from core.db import session_factory
from models import Job
from tests.helpers import moons_spec

Headers = dict[str, str]

TESTNET_LAYERS: list[dict[str, Any]] = [
    {"type": "Conv2d", "out_channels": 64, "kernel_size": 3, "padding": 1, "name": "conv1"},
    {"type": "ReLU"},
    {"type": "Conv2d", "out_channels": 128, "kernel_size": 3, "padding": 1, "name": "conv2"},
    {"type": "ReLU"},
    {"type": "MaxPool2d", "kernel_size": 2},
    {"type": "Flatten"},
    {"type": "Linear", "out_features": 10, "name": "head"},
]


def _image_spec(layers: list[dict[str, Any]]) -> dict[str, Any]:
    spec = moons_spec(epochs=3, batch_size=8)
    spec["dataset"] = {
        "type": "random",
        "n_samples": 40,
        "input_shape": [3, 12, 12],
        "num_classes": 10,
    }
    spec["model"] = {"layers": layers}
    return spec


def _jobs() -> int:
    with session_factory()() as session:
        return int(session.scalar(select(func.count()).select_from(Job)) or 0)


def test_validate_reports_summary_shapes_memory_and_stores_nothing(
    client: TestClient, alice: Headers
) -> None:
    before = _jobs()
    response = client.post(
        "/api/v1/jobs/validate", json={"spec": _image_spec(TESTNET_LAYERS)}, headers=alice
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert _jobs() == before
    assert body["valid"] is True
    dataset = body["dataset"]
    assert {key: dataset[key] for key in ("type", "n_samples", "sample_shape", "loaded_shape")} == {
        "type": "random",
        "n_samples": 40,
        "sample_shape": [3, 12, 12],
        "loaded_shape": [3, 12, 12],
    }
    assert (dataset["target_kind"], dataset["num_classes"], dataset["target_shape"]) == (
        "class_index",
        10,
        [],
    )
    train = dataset["splits"]["train"]
    assert train["n_samples"] == sum(train["class_counts"].values()) == 40
    assert body["steps_per_epoch"] == 5
    dry = body["dry_run"]
    assert (dry["output_shape"], dry["target_shape"]) == ([10], [])
    # 3x64x9+64 + 64x128x9+128 + 128*6*6*10+10
    assert dry["summary"]["total_params"] == 1792 + 73856 + 46090
    assert [layer["output_shape"] for layer in dry["summary"]["layers"]][-3:] == [
        [128, 6, 6],
        [4608],
        [10],
    ]
    memory = dry["memory"]
    assert memory["parameters"] == memory["gradients"] == 4 * dry["summary"]["total_params"]
    assert memory["optimizer_state"] >= 2 * memory["parameters"]  # Adam: two moments
    assert memory["total"] > memory["optimizer_state"] + memory["activations"]


def test_a_layer_that_cannot_take_its_input_is_named(client: TestClient, alice: Headers) -> None:
    layers = [layer for layer in TESTNET_LAYERS if layer["type"] != "Flatten"]
    for path in ("/api/v1/jobs/validate", "/api/v1/jobs"):
        response = client.post(path, json={"spec": _image_spec(layers)}, headers=alice)
        assert response.status_code == 422
        [error] = response.json()["detail"]
        assert error["field"] == "spec.model.layers.5"
        assert "'head' (Linear)" in error["msg"]


def test_an_output_that_does_not_fit_the_targets_is_422(client: TestClient, alice: Headers) -> None:
    spec = moons_spec()
    spec["model"]["layers"][-1] = {"type": "Linear", "out_features": 1, "name": "out"}
    before = _jobs()
    response = client.post("/api/v1/jobs", json={"spec": spec}, headers=alice)
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["field"] == "spec.model.layers.2"
    assert "'out', Linear) gives 1 outputs per sample, the data set has 2 classes" in error["msg"]
    assert _jobs() == before


def test_regression_output_shape_mismatch_names_the_last_layer(
    client: TestClient, alice: Headers
) -> None:
    spec = moons_spec()
    spec["dataset"] = {"type": "regression", "n_samples": 30, "n_features": 4, "n_targets": 3}
    spec["loss"] = {"type": "MSELoss"}
    response = client.post("/api/v1/jobs", json={"spec": spec}, headers=alice)
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["field"] == "spec.model.layers.2"
    assert "gives per-sample output (2,), which MSELoss cannot use" in error["msg"]


def test_submission_returns_warnings_for_a_loss_after_the_wrong_last_layer(
    client: TestClient, alice: Headers
) -> None:
    spec = moons_spec(epochs=2)
    spec["loss"] = {"type": "NLLLoss"}
    response = client.post("/api/v1/jobs", json={"spec": spec}, headers=alice)
    assert response.status_code == 201
    [warning] = response.json()["warnings"]
    assert warning.startswith("spec.model.layers.2: NLLLoss expects log-probabilities")
