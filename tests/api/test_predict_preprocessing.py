"""Predictions take raw samples: the fitted preprocessing travels with the weights."""

import json
import uuid
from typing import Any

import pytest
import torch
from fastapi.testclient import TestClient
from safetensors.torch import load as load_tensors
from sklearn.datasets import make_blobs
from sqlalchemy import Engine

from core import users
from core.db import session_scope
from tests.helpers import moons_spec
from training.build.networks import build_network
from training.spec.model import ModelSpec
from worker.runner import run_job

Headers = dict[str, str]
OFFSET_BLOBS = {
    "type": "blobs",
    "n_samples": 90,
    "n_features": 3,
    "centers": 3,
    "center_box": [1000.0, 1010.0],
    "random_state": 4,
}


def _offset_spec(preprocessing: list[dict[str, Any]]) -> dict[str, Any]:
    spec = moons_spec(epochs=15)
    spec["dataset"] = OFFSET_BLOBS | {"preprocessing": preprocessing}
    spec["model"]["layers"][-1]["out_features"] = 3
    spec["scheduler"] = None
    return spec


@pytest.fixture(scope="module")
def owner(migrated_database: Engine) -> Headers:
    with session_scope(migrated_database) as session:
        _, token = users.create(session, name=f"predict-{uuid.uuid4().hex[:8]}")
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def trained(client: TestClient, owner: Headers, migrated_database: Engine) -> dict[str, str]:
    specs = {
        "standardised": _offset_spec([{"type": "StandardScaler"}]),
        "plain": moons_spec(epochs=3),
    }
    ids = {}
    for name, spec in specs.items():
        response = client.post("/api/v1/jobs", json={"spec": spec}, headers=owner)
        assert response.status_code == 201, response.text
        ids[name] = response.json()["id"]
        run_job(uuid.UUID(ids[name]), migrated_database)
    return ids


def _network_and_card(
    client: TestClient, owner: Headers, job_id: str
) -> tuple[torch.nn.Module, dict[str, Any], bytes]:
    card = client.get(f"/api/v1/jobs/{job_id}/network", headers=owner).json()
    weights = client.get(f"/api/v1/jobs/{job_id}/weights", headers=owner).content
    network = build_network(ModelSpec.model_validate(card["model"]), tuple(card["input_shape"]))
    network.load_state_dict(load_tensors(weights))
    return network.eval(), card, weights


def _predict(client: TestClient, owner: Headers, job_id: str, inputs: Any) -> torch.Tensor:
    response = client.post(f"/api/v1/jobs/{job_id}/predict", json={"inputs": inputs}, headers=owner)
    assert response.status_code == 200, response.text
    return torch.tensor(response.json()["outputs"])


def test_predict_standardises_raw_inputs_with_the_training_statistics(
    client: TestClient, owner: Headers, trained: dict[str, str]
) -> None:
    job_id = trained["standardised"]
    network, card, weights = _network_and_card(client, owner, job_id)
    x, _ = make_blobs(
        n_samples=90, n_features=3, centers=3, center_box=(1000.0, 1010.0), random_state=4
    )
    train_x = torch.tensor(x, dtype=torch.float32)  # no split: training saw every sample
    mean, std = train_x.mean(dim=0), train_x.std(dim=0, correction=0)
    raw = train_x[:5]
    with torch.no_grad():
        expected = network((raw - mean) / std)
        unscaled = network(raw)
    outputs = _predict(client, owner, job_id, raw.tolist())
    torch.testing.assert_close(outputs, expected, rtol=0, atol=1e-5)
    assert (outputs - unscaled).abs().max() > 1.0  # raw inputs alone would be far off

    fitted = card["preprocessing"]
    assert fitted["raw_shape"] == [3]
    (scaler,) = fitted["steps"]
    assert scaler["type"] == "StandardScaler"
    assert scaler["mean"] == pytest.approx(mean.tolist(), rel=1e-6)
    assert scaler["std"] == pytest.approx(std.tolist(), rel=1e-5)
    header = json.loads(weights[8 : 8 + int.from_bytes(weights[:8], "little")])
    in_weights = json.loads(header["__metadata__"]["gradq.network"])
    assert in_weights["preprocessing"] == fitted


def test_predict_without_preprocessing_feeds_the_inputs_unchanged(
    client: TestClient, owner: Headers, trained: dict[str, str]
) -> None:
    job_id = trained["plain"]
    network, card, _ = _network_and_card(client, owner, job_id)
    assert card["preprocessing"] is None
    inputs = [[0.0, 0.5], [1.5, -0.4]]
    with torch.no_grad():
        expected = network(torch.tensor(inputs))
    outputs = _predict(client, owner, job_id, inputs)
    torch.testing.assert_close(outputs, expected, rtol=0, atol=1e-6)
