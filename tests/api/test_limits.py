"""Body size limits (413), caps on what a job asks for (422) and the per-token rate limit (429)."""

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.limits import TokenBuckets
from core.db import session_factory
from core.settings import get_settings
from models import Job
from tests.api.live_server import live_server
from tests.helpers import moons_spec

Headers = dict[str, str]
SetEnv = Callable[..., None]
CSV = b"a,b,y\n" + b"".join(f"{i % 7},{i % 5},{i % 2}\n".encode() for i in range(1000))


@pytest.fixture
def set_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[SetEnv]:
    """Set GRADQ_<NAME> for one test: set_env(MAX_EPOCHS=10)."""

    def apply(**values: Any) -> None:
        for name, value in values.items():
            monkeypatch.setenv(f"GRADQ_{name}", str(value))
        get_settings.cache_clear()

    yield apply
    get_settings.cache_clear()


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    with live_server() as url:
        yield url


def _jobs_of(headers: Headers, client: TestClient) -> int:
    listed = client.get("/api/v1/jobs", params={"limit": 500}, headers=headers)
    return len(listed.json()["items"])


def _job_count() -> int:
    with session_factory()() as session:
        return int(session.scalar(select(func.count()).select_from(Job)) or 0)


def _padded_submission(size: int) -> bytes:
    """A valid submission, padded with JSON whitespace to size bytes."""
    body = json.dumps({"name": "padded", "spec": moons_spec()}).encode()
    return body + b" " * (size - len(body))


def _assert_body_too_large(response: httpx.Response, limit: int) -> None:
    assert response.status_code == 413, response.text
    body = response.json()
    assert body["error"] == "BodyTooLarge"
    assert f"{limit:,} bytes at most (GRADQ_MAX_BODY_BYTES)" in body["detail"]


def test_a_declared_length_over_the_limit_is_413(
    client: TestClient, alice: Headers, set_env: SetEnv
) -> None:
    set_env(MAX_BODY_BYTES=2048)
    json_headers = alice | {"content-type": "application/json"}
    fits = client.post("/api/v1/jobs", content=_padded_submission(2048), headers=json_headers)
    assert fits.status_code == 201, fits.text
    before = _job_count()
    response = client.post("/api/v1/jobs", content=_padded_submission(2049), headers=json_headers)
    _assert_body_too_large(response, 2048)
    assert "the request declares 2,049 bytes" in response.json()["detail"]
    assert _job_count() == before


def test_a_chunked_body_is_counted_as_it_arrives(
    client: TestClient, alice: Headers, set_env: SetEnv
) -> None:
    set_env(MAX_BODY_BYTES=2048)
    body = _padded_submission(3000)
    before = _job_count()
    response = client.post(
        "/api/v1/jobs",
        content=iter([body[:1000], body[1000:2000], body[2000:]]),
        headers=alice | {"content-type": "application/json"},
    )
    assert "content-length" not in response.request.headers
    _assert_body_too_large(response, 2048)
    assert "passed 2,048 bytes" in response.json()["detail"]
    assert _job_count() == before


def test_a_chunked_body_over_a_real_connection(
    server_url: str, alice: Headers, set_env: SetEnv
) -> None:
    """uvicorn hands the body over in pieces; the app has started reading when it is refused."""
    set_env(MAX_BODY_BYTES=2048)
    body = _padded_submission(8000)
    pieces = [body[i : i + 500] for i in range(0, len(body), 500)]
    before = _job_count()
    headers = alice | {"content-type": "application/json"}
    with httpx.Client(base_url=server_url, headers=headers, timeout=30) as http:
        response = http.post("/api/v1/jobs", content=iter(pieces))
        assert response.request.headers["transfer-encoding"] == "chunked"
        _assert_body_too_large(response, 2048)
        small = _padded_submission(1500)
        assert http.post("/api/v1/jobs", content=iter([small])).status_code == 201
    assert _job_count() == before + 1


def test_uploads_keep_their_own_larger_limit(
    client: TestClient, alice: Headers, set_env: SetEnv
) -> None:
    set_env(MAX_BODY_BYTES=1024)
    assert len(CSV) > 4 * 1024
    files = {"file": ("d.csv", CSV)}
    uploaded = client.post("/api/v1/datasets", files=files, data={"target": "y"}, headers=alice)
    assert uploaded.status_code == 201, uploaded.text
    set_env(MAX_UPLOAD_BYTES=1000)
    refused = client.post("/api/v1/datasets", files=files, data={"target": "y"}, headers=alice)
    assert refused.status_code == 413
    assert refused.json()["error"] == "UploadTooLarge"
    assert "GRADQ_MAX_UPLOAD_BYTES" in refused.json()["detail"]


def _moons(**changes: Any) -> dict[str, Any]:
    spec = moons_spec()
    for path, value in changes.items():
        *parents, leaf = path.split("__")
        node: Any = spec
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        node[leaf] = value
    return spec


IRIS = {"type": "iris"}
CAPS = [
    ("MAX_EPOCHS", 10, _moons(), "spec.training.epochs", "epochs is 1,000"),
    ("MAX_BATCH_SIZE", 64, _moons(training__batch_size=100), "spec.training.batch_size", "100"),
    ("MAX_BATCH_SIZE", 64, _moons(), "spec.training.batch_size", "all 200 samples at once"),
    ("MAX_PARAMETERS", 16, _moons(), "spec.model", "the network has 17 parameters"),
    ("MAX_DATASET_SAMPLES", 150, _moons(), "spec.dataset.n_samples", "has 200 samples"),
    (
        "MAX_DATASET_SAMPLES",
        100,
        _moons(dataset=IRIS, model__layers__2__out_features=3),
        "spec.dataset.type",
        "has 150 samples",
    ),
]


@pytest.mark.parametrize(
    ("setting", "limit", "spec", "field", "message"),
    CAPS,
    ids=[f"{c[0]}-{c[3]}" for c in CAPS],
)
@pytest.mark.parametrize("route", ["/api/v1/jobs", "/api/v1/jobs/validate"])
def test_a_cap_refuses_the_spec_naming_field_and_setting(
    client: TestClient,
    alice: Headers,
    set_env: SetEnv,
    route: str,
    setting: str,
    limit: int,
    spec: dict[str, Any],
    field: str,
    message: str,
) -> None:
    before = _jobs_of(alice, client)
    set_env(**{setting: limit})
    response = client.post(route, json={"spec": spec}, headers=alice)
    assert response.status_code == 422, response.text
    items = [item for item in response.json()["detail"] if item["type"] == "limit_exceeded"]
    assert [item["field"] for item in items] == [field]
    assert message in items[0]["msg"]
    assert f"GRADQ_{setting} = {limit:,}" in items[0]["msg"]
    assert items[0]["ctx"] == {"setting": f"GRADQ_{setting}", "limit": str(limit)}
    assert _jobs_of(alice, client) == before
    set_env(**{setting: 10_000_000})
    accepted = client.post(route, json={"spec": spec}, headers=alice)
    assert accepted.status_code in (200, 201), accepted.text


def test_the_burst_then_429_with_retry_after(
    client: TestClient, alice: Headers, bob: Headers, set_env: SetEnv
) -> None:
    set_env(RATE_LIMIT_BURST=3, RATE_LIMIT_PER_MINUTE=1)
    assert [client.get("/api/v1/jobs", headers=alice).status_code for _ in range(3)] == [200] * 3
    refused = client.post("/api/v1/jobs", json={"spec": moons_spec()}, headers=alice)
    assert refused.status_code == 429
    assert refused.json()["error"] == "RateLimited"
    assert "GRADQ_RATE_LIMIT_BURST = 3" in refused.json()["detail"]
    assert "GRADQ_RATE_LIMIT_PER_MINUTE = 1" in refused.json()["detail"]
    retry_after = refused.headers["retry-after"]
    assert retry_after.isdigit()
    assert 1 <= int(retry_after) <= 60
    assert client.get("/api/v1/catalog", headers=alice).status_code == 429
    assert client.get("/api/v1/jobs", headers=bob).status_code == 200  # per token
    for free in ("/livez", "/metrics", "/", "/static/app.css"):
        assert client.get(free, headers=alice).status_code != 429, free


def test_token_buckets_refill_at_the_rate() -> None:
    now = [0.0]
    buckets = TokenBuckets(clock=lambda: now[0])

    def take(key: str = "a") -> float:
        return buckets.take(key, per_minute=60, burst=2)

    assert (take(), take()) == (0.0, 0.0)
    assert take() == pytest.approx(1.0)
    assert take("b") == 0.0
    now[0] = 0.5
    assert take() == pytest.approx(0.5)
    now[0] = 1.0
    assert take() == 0.0
    now[0] = 100.0  # a full bucket holds no more than the burst
    assert (take(), take()) == (0.0, 0.0)
    assert take() > 0
