"""User administration and the health probes."""

from fastapi.testclient import TestClient

Headers = dict[str, str]


def test_admin_creates_a_user_whose_token_works(client: TestClient, admin: Headers) -> None:
    response = client.post("/api/v1/users", json={"name": "carol-users-test"}, headers=admin)
    assert response.status_code == 201
    body = response.json()
    assert body["name"] == "carol-users-test"
    carol = {"Authorization": f"Bearer {body['token']}"}
    assert client.get("/api/v1/jobs", headers=carol).json()["items"] == []
    again = client.post("/api/v1/users", json={"name": "carol-users-test"}, headers=admin)
    assert again.status_code == 409


def test_only_an_admin_creates_users(client: TestClient, alice: Headers) -> None:
    response = client.post("/api/v1/users", json={"name": "mallory"}, headers=alice)
    assert response.status_code == 403
    assert client.post("/api/v1/users", json={"name": "mallory"}).status_code == 401


def test_probes_and_docs_need_no_token(client: TestClient) -> None:
    assert client.get("/livez").json() == {"status": "ok", "checks": {}}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "broker": "ok"}
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert "/api/v1/jobs/{job_id}/metrics" in paths
