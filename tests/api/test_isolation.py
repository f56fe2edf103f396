"""Two users: B gets 404 for everything of A's (jobs, their results and streams, data sets);
A and an admin see them."""

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from api.main import create_app
from core import users
from core.db import session_factory
from worker.runner import run_job

Headers = dict[str, str]
CSV = "a,b,kind\n" + "".join(f"{i % 7},{i % 5},{'odd' if i % 2 else 'even'}\n" for i in range(40))
ROUTE_TEMPLATES = {
    (method.upper(), path)
    for path, operations in create_app().openapi()["paths"].items()
    for method in operations
}
# (method, path template, body): every route that names one job of its owner
JOB_ROUTES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/api/v1/jobs/{job_id}", None),
    ("POST", "/api/v1/jobs/{job_id}/cancel", None),
    ("POST", "/api/v1/jobs/{job_id}/pause", None),
    ("POST", "/api/v1/jobs/{job_id}/resume", None),
    ("POST", "/api/v1/jobs/{job_id}/clone", {}),
    ("GET", "/api/v1/jobs/{job_id}/metrics", None),
    ("GET", "/api/v1/jobs/{job_id}/metrics/summary", None),
    ("GET", "/api/v1/jobs/{job_id}/events", None),
    ("GET", "/api/v1/jobs/{job_id}/network", None),
    ("GET", "/api/v1/jobs/{job_id}/weights", None),
    ("GET", "/api/v1/jobs/{job_id}/summary", None),
    ("POST", "/api/v1/jobs/{job_id}/predict", {"inputs": [[0.0, 0.0]]}),
    ("GET", "/api/v1/jobs/{job_id}/plot.png", None),
    ("GET", "/api/v1/jobs/{job_id}/decision_boundary.png", None),
    ("GET", "/api/v1/jobs/{job_id}/folds", None),
]
JOB_PARAMS = [
    pytest.param(
        method,
        template,
        body,
        id=f"{method} {template}",
        marks=pytest.mark.skipif(
            (method, template) not in ROUTE_TEMPLATES, reason="the app does not serve this route"
        ),
    )
    for method, template, body in JOB_ROUTES
]
# reads that answer the owner at once (no stream, nothing that changes the job)
OWNER_READS = {
    "/api/v1/jobs/{job_id}",
    "/api/v1/jobs/{job_id}/metrics",
    "/api/v1/jobs/{job_id}/weights",
    "/api/v1/jobs/{job_id}/summary",
}


def _headers(name: str, is_admin: bool = False) -> Headers:
    with session_factory()() as session:
        _, token = users.create(session, name=f"{name}-{uuid.uuid4().hex[:8]}", is_admin=is_admin)
        session.commit()
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def owner() -> Headers:
    return _headers("iso-a")


@pytest.fixture(scope="module")
def other() -> Headers:
    return _headers("iso-b")


@pytest.fixture(scope="module")
def trained(client: TestClient, owner: Headers, migrated_database: Engine) -> dict[str, str]:
    """A's data set and a job A trained on it, run to its end."""
    files = {"file": ("d.csv", CSV.encode())}
    upload = client.post("/api/v1/datasets", files=files, data={"target": "kind"}, headers=owner)
    assert upload.status_code == 201, upload.text
    spec = {
        "dataset": {"type": "upload", "id": upload.json()["id"]},
        "model": {"layers": [{"type": "Linear", "out_features": 2}]},
        "loss": {"type": "CrossEntropyLoss"},
        "optimizer": {"type": "SGD", "lr": 0.1},
        "training": {"epochs": 2},
    }
    job = client.post("/api/v1/jobs", json={"spec": spec}, headers=owner)
    assert job.status_code == 201, job.text
    run_job(uuid.UUID(job.json()["id"]), migrated_database)
    done = client.get(f"/api/v1/jobs/{job.json()['id']}", headers=owner).json()
    assert done["status"] == "succeeded", done["error"]
    return {"job_id": job.json()["id"], "dataset_id": upload.json()["id"]}


@pytest.mark.parametrize(("method", "template", "body"), JOB_PARAMS)
def test_another_users_job_is_404_on_every_route(
    client: TestClient,
    owner: Headers,
    other: Headers,
    trained: dict[str, str],
    method: str,
    template: str,
    body: dict[str, Any] | None,
) -> None:
    path = template.format(job_id=trained["job_id"])
    response = client.request(method, path, json=body, headers=other)
    assert response.status_code == 404, response.text
    assert response.json()["error"] == "JobNotFound"
    if template in OWNER_READS:
        assert client.request(method, path, headers=owner).status_code == 200


def test_another_users_job_is_404_in_a_comparison(
    client: TestClient, owner: Headers, other: Headers, trained: dict[str, str]
) -> None:
    params = {"job_ids": trained["job_id"], "key": "train_loss"}
    assert client.get("/api/v1/metrics", params=params, headers=other).status_code == 404
    assert client.get("/api/v1/metrics", params=params, headers=owner).status_code == 200


def test_another_users_jobs_are_not_listed(
    client: TestClient, other: Headers, trained: dict[str, str]
) -> None:
    listed = client.get("/api/v1/jobs", params={"limit": 500}, headers=other).json()["items"]
    assert trained["job_id"] not in [job["id"] for job in listed]


def test_another_users_data_set_is_404_to_read_delete_and_train_on(
    client: TestClient, owner: Headers, other: Headers, trained: dict[str, str]
) -> None:
    dataset_id = trained["dataset_id"]
    path = f"/api/v1/datasets/{dataset_id}"
    assert client.get(path, headers=other).status_code == 404
    assert client.delete(path, headers=other).status_code == 404
    spec = client.get(f"/api/v1/jobs/{trained['job_id']}", headers=owner).json()["spec"]
    for route in ("/api/v1/jobs", "/api/v1/jobs/validate"):
        response = client.post(route, json={"spec": spec}, headers=other)
        assert (response.status_code, response.json()["error"]) == (404, "DatasetNotFound")
    assert client.get(path, headers=owner).status_code == 200


def test_an_admin_sees_both(client: TestClient, trained: dict[str, str]) -> None:
    admin = _headers("iso-admin", is_admin=True)
    assert client.get(f"/api/v1/jobs/{trained['job_id']}", headers=admin).status_code == 200
    assert client.get(f"/api/v1/datasets/{trained['dataset_id']}", headers=admin).status_code == 200
