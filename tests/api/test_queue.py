"""GET /api/v1/queue and the queue fields of GET /api/v1/jobs/{id}."""

from typing import Any

from fastapi.testclient import TestClient

from tests.helpers import moons_spec

Headers = dict[str, str]


def _submit(client: TestClient, headers: Headers, name: str, priority: int = 0) -> str:
    body = {"name": name, "spec": moons_spec(epochs=10), "priority": priority}
    response = client.post("/api/v1/jobs", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _queue(client: TestClient, headers: Headers) -> dict[str, dict[str, Any]]:
    response = client.get("/api/v1/queue", headers=headers)
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert [item["position"] for item in items] == list(range(1, len(items) + 1))
    return {item["job_id"]: item for item in items}


def test_everyone_sees_positions_but_only_their_own_names(
    client: TestClient, alice: Headers, bob: Headers
) -> None:
    first, second = _submit(client, alice, "a1"), _submit(client, alice, "a2")
    theirs = _submit(client, bob, "b1")
    seen = _queue(client, alice)
    # owners take turns: bob's first job comes before alice's second
    assert seen[first]["position"] < seen[theirs]["position"] < seen[second]["position"]
    assert (seen[first]["name"], seen[first]["mine"], seen[first]["owner"]) == ("a1", True, None)
    assert (seen[theirs]["name"], seen[theirs]["mine"], seen[theirs]["owner"]) == (
        None,
        False,
        None,
    )
    assert seen[first]["epochs"] == 10
    assert "spec" not in seen[theirs]


def test_admins_see_owners_and_names(client: TestClient, alice: Headers, admin: Headers) -> None:
    job_id = _submit(client, alice, "named")
    item = _queue(client, admin)[job_id]
    assert item["name"] == "named"
    assert item["owner"].startswith("alice-")
    assert item["mine"] is False


def test_higher_priority_is_ahead(client: TestClient, alice: Headers) -> None:
    low = _submit(client, alice, "low")
    high = _submit(client, alice, "high", priority=50)
    seen = _queue(client, alice)
    assert seen[high]["position"] < seen[low]["position"]


def test_a_queued_job_shows_its_place(client: TestClient, alice: Headers) -> None:
    job_id = _submit(client, alice, "placed")
    detail = client.get(f"/api/v1/jobs/{job_id}", headers=alice).json()
    assert detail["queue_position"] == _queue(client, alice)[job_id]["position"]
    assert "estimated_start_at" in detail
    client.post(f"/api/v1/jobs/{job_id}/cancel", headers=alice)
    cancelled = client.get(f"/api/v1/jobs/{job_id}", headers=alice).json()
    assert cancelled["queue_position"] is None
    assert job_id not in _queue(client, alice)


def test_the_queue_needs_a_token(client: TestClient) -> None:
    assert client.get("/api/v1/queue").status_code == 401


def test_the_job_list_shows_queue_positions(client: TestClient, alice: Headers) -> None:
    first, second = _submit(client, alice, "first"), _submit(client, alice, "second")
    listed = {
        item["id"]: item["queue_position"]
        for item in client.get("/api/v1/jobs", headers=alice).json()["items"]
    }
    seen = _queue(client, alice)
    assert listed[first] == seen[first]["position"]
    assert listed[second] == seen[second]["position"]
    assert listed[first] < listed[second]
