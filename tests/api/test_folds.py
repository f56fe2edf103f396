"""GET /jobs/{id}/folds: a cross-validation job's child jobs, for their owner only."""

import uuid

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from core import cross_validation, jobs, users
from core.db import session_scope
from tests.helpers import moons_spec

Headers = dict[str, str]


def _owner(engine: Engine) -> tuple[uuid.UUID, Headers]:
    with session_scope(engine) as session:
        user, token = users.create(session, name=f"folds-{uuid.uuid4().hex[:8]}")
        return user.id, {"Authorization": f"Bearer {token}"}


def test_folds_lists_the_children_in_fold_order(
    client: TestClient, migrated_database: Engine, bob: Headers
) -> None:
    owner_id, headers = _owner(migrated_database)
    spec = moons_spec(epochs=3)
    spec["dataset"]["split"] = {"folds": 3}
    with session_scope(migrated_database) as session:
        parent, children = cross_validation.create(
            session, owner_id=owner_id, name="cv", spec_json=spec
        )
        parent_id, child_ids = parent.id, [str(child.id) for child in children]
        plain = jobs.create(session, owner_id=owner_id, name=None, spec=moons_spec(), epochs=3)
    response = client.get(f"/api/v1/jobs/{parent_id}/folds", headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["job_id"] == str(parent_id)
    assert [f["id"] for f in body["folds"]] == child_ids
    assert [(f["fold"], f["status"], f["final_metrics"]) for f in body["folds"]] == [
        (0, "queued", None),
        (1, "queued", None),
        (2, "queued", None),
    ]
    foreign = client.get(f"/api/v1/jobs/{parent_id}/folds", headers=bob)
    assert foreign.status_code == 404
    not_cv = client.get(f"/api/v1/jobs/{plain.id}/folds", headers=headers)
    assert not_cv.status_code == 404
    assert "no cross-validation job" in not_cv.json()["detail"]


def test_validate_reports_the_folds(client: TestClient, alice: Headers) -> None:
    spec = moons_spec(epochs=3)
    spec["dataset"]["split"] = {"folds": 4, "test": 0.2, "stratify": True}
    response = client.post("/api/v1/jobs/validate", json={"spec": spec}, headers=alice)
    assert response.status_code == 200, response.text
    dataset = response.json()["dataset"]
    assert (dataset["folds"], dataset["fold_sizes"]) == (4, [40, 40, 40, 40])
    assert {name: s["n_samples"] for name, s in dataset["splits"].items()} == {
        "train": 120,
        "val": 40,
        "test": 40,
    }
    spec["dataset"]["split"]["val"] = 0.1
    rejected = client.post("/api/v1/jobs/validate", json={"spec": spec}, headers=alice)
    assert rejected.status_code == 422
    assert "folds and val exclude each other" in rejected.text
