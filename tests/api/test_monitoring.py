"""/metrics: latency per route; jobs by status, queue length and epochs from the database."""

import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from api.monitoring import JobCollector
from core import jobs, users
from core.db import session_factory
from models import Job
from tests.helpers import moons_spec

REPO_ROOT = Path(__file__).resolve().parents[2]


def _samples(client: TestClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def _value(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples[(name, frozenset(labels.items()))]


def _submit(headers: dict[str, str]) -> str:
    """A queued job of the caller's, stored as a submission stores it (no broker needed)."""
    token = headers["Authorization"].removeprefix("Bearer ")
    with session_factory()() as session:
        user = users.get_by_token(session, token=token)
        assert user is not None
        job = jobs.create(session, owner_id=user.id, name="m", spec=moons_spec(), epochs=1000)
        session.commit()
        return str(job.id)


def test_metrics_need_no_token_and_are_not_in_the_openapi(client: TestClient) -> None:
    assert client.get("/metrics").status_code == 200
    assert "/metrics" not in client.get("/openapi.json").json()["paths"]


def test_queue_length_and_jobs_by_status_follow_submissions(
    client: TestClient, alice: dict[str, str]
) -> None:
    before = _samples(client)
    first = _submit(alice)
    _submit(alice)
    client.post(f"/api/v1/jobs/{first}/cancel", headers=alice)
    after = _samples(client)
    assert _value(after, "gradq_queue_length") == _value(before, "gradq_queue_length") + 1
    for status, added in (("queued", 1), ("cancelled", 1), ("running", 0)):
        delta = _value(after, "gradq_jobs", status=status) - _value(
            before, "gradq_jobs", status=status
        )
        assert delta == added, status
    assert _value(after, "gradq_database_up") == 1


def test_epochs_counter_adds_every_jobs_progress(
    client: TestClient, alice: dict[str, str], session: Session
) -> None:
    job_id = _submit(alice)
    before = _value(_samples(client), "gradq_epochs_total")
    session.execute(update(Job).where(Job.id == uuid.UUID(job_id)).values(current_epoch=7))
    session.commit()
    assert _value(_samples(client), "gradq_epochs_total") == before + 7


def test_request_latency_is_recorded_per_route_template(
    client: TestClient, alice: dict[str, str]
) -> None:
    job_id = _submit(alice)
    client.get(f"/api/v1/jobs/{job_id}", headers=alice)
    client.get(f"/api/v1/jobs/{uuid.uuid4()}", headers=alice)
    samples = _samples(client)
    counts = {
        dict(labels)["handler"]: value
        for (name, labels), value in samples.items()
        if name == "http_request_duration_seconds_count"
    }
    assert counts["/api/v1/jobs/{job_id}"] >= 2
    assert not any(job_id in handler for handler in counts)
    assert "/metrics" not in counts
    assert "/livez" not in counts


def test_unknown_paths_do_not_grow_the_label_set(client: TestClient) -> None:
    client.get(f"/no-such-page-{uuid.uuid4().hex}")
    handlers = {dict(labels).get("handler", "") for (_, labels) in _samples(client)}
    assert not any(handler.startswith("/no-such-page") for handler in handlers)


def test_a_database_outage_is_a_gauge_not_a_failed_scrape() -> None:
    class BrokenSession:
        def __enter__(self) -> "BrokenSession":
            raise OperationalError("SELECT 1", {}, Exception("database is down"))

        def __exit__(self, *args: object) -> None:
            return None

    families = list(JobCollector(lambda: BrokenSession()).collect())  # type: ignore[arg-type, return-value]
    assert [(family.name, family.samples[0].value) for family in families] == [
        ("gradq_database_up", 0)
    ]


def test_registration_describes_without_querying() -> None:
    collector = JobCollector(lambda: pytest.fail("describe() must not query"))
    names = [family.name for family in collector.describe()]
    assert names == ["gradq_database_up", "gradq_jobs", "gradq_queue_length", "gradq_epochs"]


def test_flower_is_an_optional_local_only_compose_service() -> None:
    compose = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
    flower = compose["services"]["flower"]
    assert flower["profiles"] == ["monitoring"]
    assert flower["command"][:2] == [
        "celery",
        "--broker=${GRADQ_BROKER_URL:-redis://:${REDIS_PASSWORD:?set REDIS_PASSWORD in .env}"
        "@redis:6379/0}",
    ]
    assert all(str(port).startswith("127.0.0.1:") for port in flower["ports"])
    assert flower["depends_on"]["redis"]["condition"] == "service_healthy"
    untouched = [name for name, service in compose["services"].items() if "profiles" in service]
    assert untouched == ["flower"]  # every other service still starts by default
