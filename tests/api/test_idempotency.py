"""Idempotency-Key on POST /api/v1/jobs: one job and one queue message per key and body."""

import json
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.schemas.jobs import JobCreate
from core.db import session_factory
from core.idempotency import request_sha256
from core.settings import get_settings
from models import Job
from tests.api.live_server import live_server
from tests.helpers import moons_spec
from worker.celery_app import celery_app

Headers = dict[str, str]


def _queued_messages() -> int:
    """Messages waiting in this suite's training queue (no worker consumes it)."""
    with celery_app.connection_for_write() as connection, connection.channel() as channel:
        _, count, _ = channel.queue_declare(queue=get_settings().TRAINING_QUEUE, passive=False)
        return int(count)


def _jobs_with_key(key: str) -> list[Job]:
    with session_factory()() as session:
        return list(session.scalars(select(Job).where(Job.idempotency_key == key)))


def _submit(
    client: TestClient, headers: Headers, key: str | None, body: dict[str, Any]
) -> httpx.Response:
    extra = {"Idempotency-Key": key} if key is not None else {}
    response: httpx.Response = client.post("/api/v1/jobs", json=body, headers=headers | extra)
    return response


def test_same_key_and_body_returns_the_same_job_queued_once(
    client: TestClient, alice: Headers
) -> None:
    key = f"retry-{uuid.uuid4()}"
    body = {"name": "moons", "spec": moons_spec(epochs=5)}
    before = _queued_messages()
    first = _submit(client, alice, key, body)
    assert first.status_code == 201, first.text
    assert _queued_messages() == before + 1
    again = _submit(client, alice, key, body)
    assert again.status_code == 200, again.text
    assert again.json()["id"] == first.json()["id"]
    assert _queued_messages() == before + 1
    (job,) = _jobs_with_key(key)
    assert str(job.id) == first.json()["id"]
    assert job.request_sha256 == request_sha256(_canonical(body))


def _canonical(body: dict[str, Any]) -> dict[str, Any]:
    """The body as the API parses it (defaults filled in), which is what the digest covers."""
    return JobCreate.model_validate(body).model_dump(mode="json")


def test_key_order_and_whitespace_do_not_change_the_body(
    client: TestClient, alice: Headers
) -> None:
    key = f"order-{uuid.uuid4()}"
    body = {"name": "moons", "spec": moons_spec(epochs=5)}
    first = _submit(client, alice, key, body)
    reordered = json.dumps(dict(reversed(list(body.items()))), indent=4)
    again = client.post(
        "/api/v1/jobs",
        content=reordered,
        headers=alice | {"Idempotency-Key": key, "content-type": "application/json"},
    )
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]


def test_same_key_other_body_is_422_naming_the_header(client: TestClient, alice: Headers) -> None:
    key = f"clash-{uuid.uuid4()}"
    first = _submit(client, alice, key, {"spec": moons_spec(epochs=5)})
    assert first.status_code == 201
    before = _queued_messages()
    clash = _submit(client, alice, key, {"spec": moons_spec(epochs=6)})
    assert clash.status_code == 422
    (item,) = clash.json()["detail"]
    assert item["field"] == "Idempotency-Key"
    assert item["loc"] == ["header", "Idempotency-Key"]
    assert first.json()["id"] in item["msg"]
    assert _queued_messages() == before
    assert len(_jobs_with_key(key)) == 1


def test_a_key_is_per_user_and_no_key_means_a_new_job(
    client: TestClient, alice: Headers, bob: Headers
) -> None:
    key = f"shared-{uuid.uuid4()}"
    body = {"spec": moons_spec(epochs=5)}
    ids = {_submit(client, user, key, body).json()["id"] for user in (alice, bob)}
    assert len(ids) == 2
    plain = {_submit(client, alice, None, body).json()["id"] for _ in range(2)}
    assert len(plain) == 2


@pytest.mark.parametrize(("key", "status"), [("k" * 200, 201), ("k" * 201, 422), ("", 422)])
def test_key_length(client: TestClient, alice: Headers, key: str, status: int) -> None:
    response = _submit(client, alice, key, {"spec": moons_spec(epochs=5)})
    assert response.status_code == status, response.text
    if status == 422:
        assert response.json()["detail"][0]["field"] == "Idempotency-Key"


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    with live_server() as url:
        yield url


def test_concurrent_identical_requests_make_one_job(server_url: str, alice: Headers) -> None:
    key = f"race-{uuid.uuid4()}"
    body = {"name": "race", "spec": moons_spec(epochs=5)}
    headers = alice | {"Idempotency-Key": key}
    before = _queued_messages()

    def submit(_: int) -> httpx.Response:
        return httpx.post(f"{server_url}/api/v1/jobs", json=body, headers=headers, timeout=60)

    with ThreadPoolExecutor(max_workers=6) as pool:
        responses = list(pool.map(submit, range(6)))
    assert sorted(r.status_code for r in responses) == [200] * 5 + [201], [
        r.text for r in responses
    ]
    assert len({r.json()["id"] for r in responses}) == 1
    assert len(_jobs_with_key(key)) == 1
    assert _queued_messages() == before + 1
