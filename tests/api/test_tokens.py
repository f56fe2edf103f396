"""Token management over HTTP: admins manage anyone's tokens, users their own; revocation bites at
once in the revoking process."""

import json
import time
import uuid

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.deps import TokenCache
from cli.main import app as gradq
from core import users
from core.db import session_factory

Headers = dict[str, str]
TOKEN_FIELDS = {"id", "user_id", "created_at", "revoked_at"}


def _bearer(token: str) -> Headers:
    return {"Authorization": f"Bearer {token}"}


def _new_user() -> tuple[uuid.UUID, str, str]:
    """A user's id, name and first token."""
    with session_factory()() as session:
        user, token = users.create(session, name=f"tok-{uuid.uuid4().hex[:8]}")
        session.commit()
        return user.id, user.name, token


def test_admin_issues_lists_and_revokes_a_users_tokens(client: TestClient, admin: Headers) -> None:
    user_id, _, first = _new_user()
    issued = client.post(f"/api/v1/users/{user_id}/tokens", headers=admin)
    assert issued.status_code == 201, issued.text
    second = issued.json()
    assert set(second) == TOKEN_FIELDS | {"token"}
    assert second["user_id"] == str(user_id)
    assert second["revoked_at"] is None
    assert client.get("/api/v1/jobs", headers=_bearer(second["token"])).status_code == 200

    listed = client.get(f"/api/v1/users/{user_id}/tokens", headers=admin)
    assert listed.status_code == 200
    assert all(set(token) == TOKEN_FIELDS for token in listed.json())  # no secret, no digest
    assert [token["id"] for token in listed.json()][-1] == second["id"]
    assert len(listed.json()) == 2

    revoked = client.delete(f"/api/v1/tokens/{second['id']}", headers=admin)
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None
    assert client.get("/api/v1/jobs", headers=_bearer(second["token"])).status_code == 401
    assert client.get("/api/v1/jobs", headers=_bearer(first)).status_code == 200
    states = {t["id"]: t["revoked_at"] for t in client.get(listed.url, headers=admin).json()}
    assert states[second["id"]] is not None  # kept, marked revoked
    assert sum(value is None for value in states.values()) == 1


def test_a_revoked_token_is_refused_at_once_though_it_was_cached(client: TestClient) -> None:
    _, _, token = _new_user()
    headers = _bearer(token)
    for _ in range(3):  # the first request caches the token, the others use the cache
        assert client.get("/api/v1/tokens", headers=headers).status_code == 200
    (own,) = client.get("/api/v1/tokens", headers=headers).json()
    assert client.delete(f"/api/v1/tokens/{own['id']}", headers=headers).status_code == 200
    refused = client.get("/api/v1/tokens", headers=headers)
    assert refused.status_code == 401
    assert refused.json()["detail"] == "unknown or revoked token"


def test_users_manage_their_own_tokens_only(client: TestClient, admin: Headers) -> None:
    alice_id, _, alice_token = _new_user()
    _, _, bob_token = _new_user()
    alice, bob = _bearer(alice_token), _bearer(bob_token)
    created = client.post("/api/v1/tokens", headers=alice)
    assert created.status_code == 201
    assert created.json()["user_id"] == str(alice_id)
    mine = client.get("/api/v1/tokens", headers=alice).json()
    assert {t["id"] for t in mine} >= {created.json()["id"]}
    assert len(mine) == 2

    foreign = client.delete(f"/api/v1/tokens/{created.json()['id']}", headers=bob)
    assert (foreign.status_code, foreign.json()["error"]) == (404, "TokenNotFound")
    unknown = client.delete(f"/api/v1/tokens/{uuid.uuid4()}", headers=bob)
    assert foreign.json()["detail"].startswith("no token")
    assert unknown.status_code == 404
    assert client.get("/api/v1/jobs", headers=_bearer(created.json()["token"])).status_code == 200

    for method in ("GET", "POST"):
        refused = client.request(method, f"/api/v1/users/{alice_id}/tokens", headers=bob)
        assert refused.status_code == 403
    missing = client.get(f"/api/v1/users/{uuid.uuid4()}/tokens", headers=admin)
    assert (missing.status_code, missing.json()["error"]) == (404, "UserNotFound")


def test_cli_lists_tokens_and_revoke_keeps_the_rows(client: TestClient) -> None:
    _, name, token = _new_user()
    assert client.get("/api/v1/jobs", headers=_bearer(token)).status_code == 200
    runner = CliRunner()
    revoked = runner.invoke(gradq, ["tokens", "revoke", name], catch_exceptions=False)
    assert revoked.exit_code == 0
    assert f"revoked 1 token of {name}" in revoked.stdout
    # the CLI ran in this process, so this process's cache forgot the token at once
    assert client.get("/api/v1/jobs", headers=_bearer(token)).status_code == 401
    again = runner.invoke(gradq, ["tokens", "revoke", name], catch_exceptions=False)
    assert f"revoked 0 tokens of {name}" in again.stdout
    listed = runner.invoke(gradq, ["tokens", "list", name, "--json"], catch_exceptions=False)
    assert listed.exit_code == 0
    (row,) = json.loads(listed.stdout)
    assert row["revoked_at"] is not None
    table = runner.invoke(gradq, ["tokens", "list", name], catch_exceptions=False)
    assert row["id"] in table.stdout
    assert token not in table.stdout + listed.stdout


def test_token_cache_expires_forgets_and_stays_bounded() -> None:
    cache = TokenCache(ttl=0.2, size=3)
    user_id = uuid.uuid4()
    cache.put("a", user_id)
    assert cache.get("a") == user_id
    cache.drop(["a"])
    assert cache.get("a") is None
    cache.put("a", user_id)  # a lookup that raced the revocation does not bring it back
    assert cache.get("a") is None
    for key in "bcde":
        cache.put(key, user_id)
    assert [cache.get(key) for key in "bcde"] == [None, user_id, user_id, user_id]
    time.sleep(0.25)
    assert cache.get("e") is None
    cache.put("a", user_id)  # past the TTL a dropped digest may be cached again
    assert cache.get("a") == user_id
