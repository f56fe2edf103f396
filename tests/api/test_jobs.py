"""The jobs routes through HTTP, on the suite database and the embedded broker (no worker)."""

import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from core.db import session_factory
from models import Job
from tests.helpers import moons_spec

Headers = dict[str, str]


def _submit(client: TestClient, headers: Headers, **training: Any) -> dict[str, Any]:
    response = client.post(
        "/api/v1/jobs", json={"name": "moons", "spec": moons_spec(**training)}, headers=headers
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def test_submit_stores_a_queued_job_with_the_full_spec(client: TestClient, alice: Headers) -> None:
    job = _submit(client, alice)
    assert job["status"] == "queued"
    assert (job["epochs"], job["current_epoch"], job["attempt"]) == (1000, 0, 0)
    assert job["spec"]["optimizer"] == {
        "type": "Adam",
        "lr": 0.01,
        "betas": [0.9, 0.999],
        "eps": 1e-8,
        "weight_decay": 0.0,
        "decoupled_weight_decay": False,
        "amsgrad": False,
        "maximize": False,
        "param_groups": [],
        "no_decay_on_bias": False,
    }
    assert job["warnings"] == []
    read = client.get(f"/api/v1/jobs/{job['id']}", headers=alice)
    assert read.status_code == 200
    assert read.json()["id"] == job["id"]
    assert [event["kind"] for event in read.json()["events"]] == ["queued"]


def test_no_token_is_401_and_a_bad_token_too(client: TestClient) -> None:
    response = client.post("/api/v1/jobs", json={"spec": moons_spec()})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["error"] == "NotAuthenticated"
    bad = client.get("/api/v1/jobs", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401


def test_foreign_and_unknown_jobs_are_404(
    client: TestClient, alice: Headers, bob: Headers, admin: Headers
) -> None:
    job = _submit(client, alice)
    for path in ("", "/metrics"):
        assert client.get(f"/api/v1/jobs/{job['id']}{path}", headers=bob).status_code == 404
    assert client.post(f"/api/v1/jobs/{job['id']}/cancel", headers=bob).status_code == 404
    assert client.get(f"/api/v1/jobs/{uuid.uuid4()}", headers=alice).status_code == 404
    assert client.get(f"/api/v1/jobs/{job['id']}", headers=admin).status_code == 200


def test_unknown_optimizer_is_422_naming_the_field_and_nothing_is_stored(
    client: TestClient, alice: Headers
) -> None:
    with session_factory()() as session:
        before = session.scalar(select(func.count()).select_from(Job))
    spec = moons_spec()
    spec["optimizer"] = {"type": "Adamw", "lr": 0.01}
    response = client.post("/api/v1/jobs", json={"spec": spec}, headers=alice)
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "ValidationError"
    [error] = body["detail"]
    assert error["field"] == "spec.optimizer.type"
    assert all(f"'{name}'" in error["msg"] for name in ("SGD", "Adam", "Ranger"))
    with session_factory()() as session:
        assert session.scalar(select(func.count()).select_from(Job)) == before


def test_bad_lr_is_422_at_spec_optimizer_lr(client: TestClient, alice: Headers) -> None:
    spec = moons_spec()
    spec["optimizer"] = {"type": "SGD", "lr": -1}
    response = client.post("/api/v1/jobs", json={"spec": spec}, headers=alice)
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["field"] == "spec.optimizer.lr"
    assert error["loc"] == ["body", "spec", "optimizer", "SGD", "lr"]
    assert "greater than 0" in error["msg"]


def test_error_inside_a_layer_names_its_index(client: TestClient, alice: Headers) -> None:
    spec = moons_spec()
    spec["model"]["layers"][2] = {"type": "Linear", "out_features": 0}
    response = client.post("/api/v1/jobs", json={"spec": spec}, headers=alice)
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["field"] == "spec.model.layers.2.out_features"


def test_malformed_json_is_422_not_500(client: TestClient, alice: Headers) -> None:
    response = client.post(
        "/api/v1/jobs", content=b"{not json", headers={**alice, "Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["error"] == "ValidationError"


def test_cancel_queued_job_then_cancel_again_is_409(client: TestClient, alice: Headers) -> None:
    job = _submit(client, alice)
    response = client.post(f"/api/v1/jobs/{job['id']}/cancel", headers=alice)
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    again = client.post(f"/api/v1/jobs/{job['id']}/cancel", headers=alice)
    assert again.status_code == 409
    assert again.json()["error"] == "JobNotCancellable"


def test_list_filters_by_status_and_pages(client: TestClient, alice: Headers) -> None:
    ids = [_submit(client, alice)["id"] for _ in range(3)]
    client.post(f"/api/v1/jobs/{ids[0]}/cancel", headers=alice)
    first = client.get("/api/v1/jobs", params={"limit": 2}, headers=alice).json()
    assert [job["id"] for job in first["items"]] == ids[:0:-1]
    second = client.get(
        "/api/v1/jobs", params={"limit": 2, "cursor": first["next_cursor"]}, headers=alice
    ).json()
    assert [job["id"] for job in second["items"]] == [ids[0]]
    assert second["next_cursor"] is None
    queued = client.get("/api/v1/jobs", params={"status": "queued"}, headers=alice).json()
    assert {job["id"] for job in queued["items"]} == set(ids[1:])
    bad = client.get("/api/v1/jobs", params={"status": "done"}, headers=alice)
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["field"] == "status"


def test_metrics_of_a_queued_job_are_empty(client: TestClient, alice: Headers) -> None:
    job = _submit(client, alice)
    response = client.get(f"/api/v1/jobs/{job['id']}/metrics", headers=alice)
    assert response.json() == {"items": [], "next_since_epoch": 0}
