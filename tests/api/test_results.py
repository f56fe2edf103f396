"""Results of trained jobs: weights, network card, summary, predictions and plots."""

import copy
import json
import uuid
from typing import Any

import pytest
import torch
from fastapi.testclient import TestClient
from safetensors import safe_open
from safetensors.torch import load as load_tensors
from sqlalchemy import Engine

from core import users
from core.db import session_scope
from core.settings import get_settings
from tests.helpers import moons_spec
from training.build.networks import build_network
from training.spec.model import ModelSpec
from worker.runner import run_job

Headers = dict[str, str]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
REGRESSION = {
    "dataset": {"type": "regression", "n_samples": 64, "n_features": 3, "noise": 0.1},
    "model": {"layers": [{"type": "Linear", "out_features": 1}]},
    "loss": {"type": "MSELoss"},
    "optimizer": {"type": "SGD", "lr": 0.01},
    "training": {"epochs": 5},
}


def _early_stopped() -> dict[str, Any]:
    """No epoch after the first improves by min_delta: the best epoch is 1, training stops at 4."""
    spec = moons_spec(epochs=50)
    spec["training"]["early_stopping"] = {"patience": 3, "min_delta": 10.0}
    return spec


def _submit(client: TestClient, headers: Headers, spec: dict[str, Any]) -> str:
    response = client.post("/api/v1/jobs", json={"spec": spec}, headers=headers)
    assert response.status_code == 201, response.text
    job_id: str = response.json()["id"]
    return job_id


@pytest.fixture(scope="module")
def owner(migrated_database: Engine) -> Headers:
    with session_scope(migrated_database) as session:
        _, token = users.create(session, name=f"results-{uuid.uuid4().hex[:8]}")
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def trained(client: TestClient, owner: Headers, migrated_database: Engine) -> dict[str, str]:
    specs = {
        "moons": moons_spec(epochs=30),
        "early": _early_stopped(),
        "one_epoch": moons_spec(epochs=1),
        "regression": REGRESSION,
    }
    ids = {name: _submit(client, owner, spec) for name, spec in specs.items()}
    for job_id in ids.values():
        run_job(uuid.UUID(job_id), migrated_database)
    return ids


def _get(client: TestClient, path: str, headers: Headers, **params: Any) -> Any:
    response = client.get(f"/api/v1/jobs/{path}", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response


def _rebuilt(card: dict[str, Any], weights: bytes) -> torch.nn.Module:
    network = build_network(ModelSpec.model_validate(card["model"]), tuple(card["input_shape"]))
    network.load_state_dict(load_tensors(weights))
    return network.eval()


def test_downloaded_weights_in_the_rebuilt_network_predict_like_the_endpoint(
    client: TestClient, owner: Headers, trained: dict[str, str]
) -> None:
    job_id = trained["moons"]
    card = _get(client, f"{job_id}/network", owner).json()
    assert (card["input_shape"], card["output_shape"]) == ([2], [2])
    assert (card["probabilities"], card["weights"]["final"]["epoch"]) == ("softmax", 30)
    weights = _get(client, f"{job_id}/weights", owner, which="final")
    assert weights.headers["etag"] == f'"{card["weights"]["final"]["sha256"]}"'
    network = _rebuilt(card, weights.content)
    inputs = [[0.0, 0.5], [1.5, -0.4], [-1.0, 1.0]]
    response = client.post(f"/api/v1/jobs/{job_id}/predict", json={"inputs": inputs}, headers=owner)
    assert response.status_code == 200, response.text
    predicted = response.json()
    with torch.no_grad():
        outputs = network(torch.tensor(inputs))
    torch.testing.assert_close(torch.tensor(predicted["outputs"]), outputs, rtol=0, atol=1e-6)
    probabilities = torch.tensor(predicted["probabilities"])
    torch.testing.assert_close(probabilities, outputs.softmax(1), rtol=0, atol=1e-6)
    assert predicted["predictions"] == outputs.argmax(1).tolist()
    again = client.get(
        f"/api/v1/jobs/{job_id}/weights", headers=owner | {"If-None-Match": weights.headers["etag"]}
    )
    assert again.status_code == 304


def test_best_weights_are_those_of_the_best_epoch(
    client: TestClient, owner: Headers, trained: dict[str, str], tmp_path: Any
) -> None:
    job = _get(client, trained["early"], owner).json()
    assert (job["stop_reason"], job["current_epoch"], job["best_epoch"]) == ("early_stopped", 4, 1)
    best = _get(client, f"{trained['early']}/weights", owner, which="best")
    assert best.headers["x-epoch"] == "1"
    final = _get(client, f"{trained['early']}/weights", owner, which="final").content
    one_epoch = _get(client, f"{trained['one_epoch']}/weights", owner).content
    best_state, final_state = load_tensors(best.content), load_tensors(final)
    assert best_state.keys() == load_tensors(one_epoch).keys()
    for key, value in load_tensors(one_epoch).items():
        assert torch.equal(best_state[key], value)
    assert not all(torch.equal(best_state[key], final_state[key]) for key in best_state)
    path = tmp_path / "best.safetensors"
    path.write_bytes(best.content)
    with safe_open(str(path), framework="pt") as stored:
        metadata = stored.metadata()
    assert json.loads(metadata["gradq.network"])["model"]["layers"][1] == {
        "type": "Tanh",
        "name": None,
    }
    assert metadata["which"] == "best"


def test_summary_as_json_and_as_the_table(
    client: TestClient, owner: Headers, trained: dict[str, str]
) -> None:
    summary = _get(client, f"{trained['moons']}/summary", owner).json()
    assert [layer["type"] for layer in summary["layers"]] == ["Linear", "Tanh", "Linear"]
    assert summary["total_params"] == 2 * 3 + 3 + 3 * 2 + 2
    text = _get(client, f"{trained['moons']}/summary", owner, format="text").text
    assert "Total params: 17" in text
    assert text == summary["table"] + "\n"


@pytest.mark.parametrize(
    "inputs",
    [[[1.0, 2.0, 3.0]], [[1.0, 2.0], [3.0]], [["a", "b"]], [], [[1.0, float("nan")]], 5],
)
def test_predict_rejects_inputs_that_do_not_fit(
    client: TestClient, owner: Headers, trained: dict[str, str], inputs: Any
) -> None:
    body = json.dumps({"inputs": inputs})  # json.dumps writes NaN, as some clients do
    response = client.post(
        f"/api/v1/jobs/{trained['moons']}/predict",
        content=body,
        headers=owner | {"Content-Type": "application/json"},
    )
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["field"] == "inputs"


def test_predict_limits_the_rows(
    client: TestClient, owner: Headers, trained: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(get_settings(), "MAX_PREDICT_ROWS", 3)
    url = f"/api/v1/jobs/{trained['moons']}/predict"
    assert client.post(url, json={"inputs": [[0.0, 0.0]] * 3}, headers=owner).status_code == 200
    response = client.post(url, json={"inputs": [[0.0, 0.0]] * 4}, headers=owner)
    assert response.status_code == 422
    assert "at most 3 samples" in response.json()["detail"][0]["msg"]


def test_regression_predictions_have_no_probabilities(
    client: TestClient, owner: Headers, trained: dict[str, str]
) -> None:
    url = f"/api/v1/jobs/{trained['regression']}/predict"
    response = client.post(url, json={"inputs": [[0.1, 0.2, 0.3]], "which": "best"}, headers=owner)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["probabilities"], body["predictions"]) == (None, None)
    assert len(body["outputs"]) == 1
    assert len(body["outputs"][0]) == 1


def test_metric_plots_are_pngs(client: TestClient, owner: Headers, trained: dict[str, str]) -> None:
    job_id = trained["moons"]
    loss = _get(client, f"{job_id}/plot.png", owner)
    assert loss.headers["content-type"] == "image/png"
    assert loss.content.startswith(PNG_MAGIC)
    lr = _get(client, f"{job_id}/plot.png", owner, keys="lr", log="true")
    assert lr.content.startswith(PNG_MAGIC)
    assert lr.content != loss.content
    unchanged = client.get(
        f"/api/v1/jobs/{job_id}/plot.png", headers=owner | {"If-None-Match": loss.headers["etag"]}
    )
    assert unchanged.status_code == 304
    bad = client.get(f"/api/v1/jobs/{job_id}/plot.png", params={"keys": "nope"}, headers=owner)
    assert (bad.status_code, bad.json()["detail"][0]["field"]) == (422, "keys")


def test_decision_boundary_of_a_2d_classifier(
    client: TestClient, owner: Headers, trained: dict[str, str]
) -> None:
    image = _get(client, f"{trained['moons']}/decision_boundary.png", owner, resolution=50)
    assert image.content.startswith(PNG_MAGIC)
    refused = client.get(
        f"/api/v1/jobs/{trained['regression']}/decision_boundary.png", headers=owner
    )
    assert refused.status_code == 422
    assert "2-D points" in refused.json()["detail"]


def test_unfinished_or_foreign_jobs_have_no_results(
    client: TestClient, owner: Headers, bob: Headers, trained: dict[str, str]
) -> None:
    queued = _submit(client, owner, copy.deepcopy(moons_spec(epochs=3)))
    for path in ("weights", "network", "summary", "decision_boundary.png"):
        response = client.get(f"/api/v1/jobs/{queued}/{path}", headers=owner)
        assert response.status_code == 404
        assert response.json()["error"] == "ArtifactNotFound"
        assert "queued" in response.json()["detail"]
        foreign = client.get(f"/api/v1/jobs/{trained['moons']}/{path}", headers=bob)
        assert (foreign.status_code, foreign.json()["error"]) == (404, "JobNotFound")
    predict = client.post(
        f"/api/v1/jobs/{trained['moons']}/predict", json={"inputs": [[0, 0]]}, headers=bob
    )
    assert predict.status_code == 404
