"""Pause, resume and clone through HTTP, on the suite database and the embedded broker."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

from core.settings import get_settings
from tests.helpers import moons_spec

Headers = dict[str, str]


def _submit(client: TestClient, headers: Headers, **body: Any) -> dict[str, Any]:
    payload = {"name": "base", "spec": moons_spec(epochs=20), **body}
    response = client.post("/api/v1/jobs", json=payload, headers=headers)
    assert response.status_code == 201, response.text
    job: dict[str, Any] = response.json()
    return job


def _kinds(client: TestClient, headers: Headers, job_id: str) -> list[str]:
    return [
        event["kind"]
        for event in client.get(f"/api/v1/jobs/{job_id}", headers=headers).json()["events"]
    ]


def test_pause_then_resume_a_queued_job(client: TestClient, alice: Headers) -> None:
    job = _submit(client, alice)
    paused = client.post(f"/api/v1/jobs/{job['id']}/pause", headers=alice)
    assert paused.status_code == 200, paused.text
    assert paused.json()["status"] == "paused"
    detail = client.get(f"/api/v1/jobs/{job['id']}", headers=alice).json()
    assert (detail["queue_position"], detail["estimated_start_at"]) == (None, None)
    again = client.post(f"/api/v1/jobs/{job['id']}/pause", headers=alice)
    assert (again.status_code, again.json()["error"]) == (409, "JobNotPausable")
    resumed = client.post(f"/api/v1/jobs/{job['id']}/resume", headers=alice)
    assert resumed.status_code == 200, resumed.text
    assert resumed.json()["status"] == "queued"
    detail = client.get(f"/api/v1/jobs/{job['id']}", headers=alice).json()
    assert isinstance(detail["queue_position"], int)
    assert detail["queue_position"] >= 1
    assert _kinds(client, alice, job["id"]) == ["queued", "paused", "resumed"]
    not_paused = client.post(f"/api/v1/jobs/{job['id']}/resume", headers=alice)
    assert (not_paused.status_code, not_paused.json()["error"]) == (409, "JobNotResumable")


def test_clone_with_an_override(client: TestClient, alice: Headers) -> None:
    job = _submit(client, alice, priority=3)
    body = {"name": "faster", "overrides": {"optimizer": {"lr": 0.1}, "training": {"epochs": 5}}}
    response = client.post(f"/api/v1/jobs/{job['id']}/clone", json=body, headers=alice)
    assert response.status_code == 201, response.text
    clone = response.json()
    assert clone["id"] != job["id"]
    assert (clone["name"], clone["status"], clone["epochs"], clone["priority"]) == (
        "faster",
        "queued",
        5,
        3,
    )
    assert clone["spec"]["optimizer"]["lr"] == 0.1
    assert clone["spec"]["scheduler"] == job["spec"]["scheduler"]
    detail = client.get(f"/api/v1/jobs/{clone['id']}", headers=alice).json()
    assert detail["events"][-1]["kind"] == "cloned_from"
    assert detail["events"][-1]["data"] == {"job_id": job["id"]}


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"optimizer": {"lr": -1}}, "spec.optimizer.lr"),
        ({"training": {"epochs": "many"}}, "spec.training.epochs"),
        ({"optimizer": {"type": "NoSuchOptimizer"}}, "spec.optimizer.type"),
    ],
)
def test_clone_with_a_bad_override_is_422_naming_the_field(
    client: TestClient, alice: Headers, overrides: dict[str, Any], field: str
) -> None:
    job = _submit(client, alice)
    response = client.post(
        f"/api/v1/jobs/{job['id']}/clone", json={"overrides": overrides}, headers=alice
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"] == "ValidationError"
    assert field in [error["field"] for error in response.json()["detail"]]


def test_foreign_or_unknown_jobs_are_404(client: TestClient, alice: Headers, bob: Headers) -> None:
    job = _submit(client, alice)
    for action in ("pause", "resume", "clone"):
        foreign = client.post(f"/api/v1/jobs/{job['id']}/{action}", json={}, headers=bob)
        assert (foreign.status_code, foreign.json()["error"]) == (404, "JobNotFound")
    unknown = client.post("/api/v1/jobs/00000000-0000-0000-0000-000000000000/pause", headers=alice)
    assert unknown.status_code == 404
    assert client.get(f"/api/v1/jobs/{job['id']}", headers=alice).json()["status"] == "queued"


def test_clone_past_the_queue_limit_is_429(
    client: TestClient, alice: Headers, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = _submit(client, alice)
    monkeypatch.setattr(get_settings(), "MAX_QUEUED_PER_USER", 1)
    response = client.post(f"/api/v1/jobs/{job['id']}/clone", json={}, headers=alice)
    assert response.status_code == 429, response.text
    assert response.json()["error"] == "QueueLimitReached"
    assert "GRADQ_MAX_QUEUED_PER_USER" in response.json()["detail"]
    assert "limit is 1" in response.json()["detail"]
