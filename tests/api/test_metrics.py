"""The metrics routes: key selection, windows, downsampling, ETags, CSV, summaries, comparisons."""

import csv
import io
import json
import threading
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, update

from api import event_stream
from core import jobs, metrics, users
from core.db import session_scope
from core.jobs import Outcome
from core.metrics import EpochRecord
from core.settings import get_settings
from models import Job, JobStatus
from tests.helpers import moons_spec
from worker.db_sink import DbMetricSink
from worker.runner import run_job

Headers = dict[str, str]
REGRESSION = {
    "dataset": {"type": "regression", "n_samples": 64, "n_features": 3, "noise": 0.1},
    "model": {
        "layers": [
            {"type": "Linear", "out_features": 8},
            {"type": "Tanh"},
            {"type": "Linear", "out_features": 1},
        ]
    },
    "loss": {"type": "MSELoss"},
    "optimizer": {"type": "Adam", "lr": 0.01},
    "training": {"epochs": 40},
}


def submit(client: TestClient, headers: Headers, spec: dict[str, Any] | None = None) -> str:
    response = client.post(
        "/api/v1/jobs", json={"spec": spec or moons_spec(epochs=5)}, headers=headers
    )
    assert response.status_code == 201, response.text
    job_id: str = response.json()["id"]
    return job_id


def write(engine: Engine, job_id: str, epochs: range, **series: Any) -> None:
    """Store the epochs as the worker's sink would: rows, then current_epoch."""

    def value(key: str, epoch: int) -> float:
        found = series.get(key, lambda e: 1.0 / e)
        return float(found(epoch)) if callable(found) else float(found)

    keys = ["train_loss", "train_accuracy", "lr/0", "lr/1", *series]
    records = [
        EpochRecord(epoch=e, step=e, values={k: value(k, e) for k in dict.fromkeys(keys)})
        for e in epochs
    ]
    with session_scope(engine) as session:
        metrics.write_epochs(session, job_id=uuid.UUID(job_id), records=records)
        session.execute(
            update(Job).where(Job.id == uuid.UUID(job_id)).values(current_epoch=epochs[-1])
        )


def finish(engine: Engine, job_id: str) -> None:
    with session_scope(engine) as session:
        session.execute(
            update(Job).where(Job.id == uuid.UUID(job_id)).values(status=JobStatus.SUCCEEDED)
        )


def get(client: TestClient, job_id: str, headers: Headers, **params: Any) -> Any:
    response = client.get(f"/api/v1/jobs/{job_id}/metrics", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_keys_select_series_and_lr_gathers_every_group(
    client: TestClient, alice: Headers, migrated_database: Engine
) -> None:
    job_id = submit(client, alice)
    write(migrated_database, job_id, range(1, 4), **{"lr/0": 0.1, "lr/1": 0.2})
    page = get(client, job_id, alice, keys="train_loss,lr")
    assert page["items"][0] == {"epoch": 1, "train_loss": 1.0, "lr": [0.1, 0.2]}
    page = get(client, job_id, alice, keys="train_accuracy")
    assert page["items"][2] == {"epoch": 3, "train_accuracy": pytest.approx(1 / 3)}
    whole = get(client, job_id, alice)["items"][0]
    assert set(whole) == {"epoch", "train_loss", "train_accuracy", "lr"}


def test_a_job_without_epochs_answers_any_keys_with_nothing(
    client: TestClient, alice: Headers
) -> None:
    job_id = submit(client, alice)
    page = get(client, job_id, alice, keys="val_loss,lr", since_epoch=3, max_points=10)
    assert page == {"items": [], "next_since_epoch": 3}


def test_windows_and_next_since_epoch(
    client: TestClient, alice: Headers, migrated_database: Engine
) -> None:
    job_id = submit(client, alice)
    write(migrated_database, job_id, range(1, 21))
    page = get(client, job_id, alice, since_epoch=5, limit=4)
    assert ([i["epoch"] for i in page["items"]], page["next_since_epoch"]) == ([6, 7, 8, 9], 9)
    page = get(client, job_id, alice, start_epoch=10, end_epoch=12)
    assert ([i["epoch"] for i in page["items"]], page["next_since_epoch"]) == ([10, 11, 12], 12)
    page = get(client, job_id, alice, since_epoch=20)
    assert page == {"items": [], "next_since_epoch": 20}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"keys": "train_loss,bogus"}, "keys"),
        ({"since_epoch": -1}, "since_epoch"),
        ({"max_points": 0}, "max_points"),
        ({"max_points": 10_001}, "max_points"),
        ({"limit": 0}, "limit"),
        ({"start_epoch": 5, "end_epoch": 4}, "end_epoch"),
        ({"format": "xml"}, "format"),
    ],
)
def test_bad_parameters_are_422s_naming_them(
    client: TestClient,
    alice: Headers,
    migrated_database: Engine,
    params: dict[str, Any],
    field: str,
) -> None:
    job_id = submit(client, alice)
    write(migrated_database, job_id, range(1, 3))
    response = client.get(f"/api/v1/jobs/{job_id}/metrics", params=params, headers=alice)
    assert response.status_code == 422, response.text
    assert [error["field"] for error in response.json()["detail"]] == [field]


def test_max_points_keeps_first_last_and_the_spikes(
    client: TestClient, alice: Headers, migrated_database: Engine
) -> None:
    job_id = submit(client, alice)
    spikes = {777: 9.0, 3001: -1.0}
    lrs = {"lr/0": 0.1, "lr/1": 0.2}
    write(
        migrated_database, job_id, range(1, 4001), train_loss=lambda e: spikes.get(e, 1 / e), **lrs
    )
    page = get(client, job_id, alice, keys="train_loss,lr", max_points=200)
    epochs = [item["epoch"] for item in page["items"]]
    assert len(epochs) <= 200
    assert {1, 777, 3001, 4000} <= set(epochs)
    assert page["next_since_epoch"] == 4000
    assert all(item["lr"] == [0.1, 0.2] for item in page["items"])


def test_unchanged_poll_is_a_304_and_a_new_epoch_changes_the_etag(
    client: TestClient, alice: Headers, migrated_database: Engine
) -> None:
    job_id = submit(client, alice)
    write(migrated_database, job_id, range(1, 6))
    url = f"/api/v1/jobs/{job_id}/metrics"
    first = client.get(url, params={"max_points": 100}, headers=alice)
    etag = first.headers["etag"]
    again = client.get(url, params={"max_points": 100}, headers=alice | {"If-None-Match": etag})
    assert (again.status_code, again.content, again.headers["etag"]) == (304, b"", etag)
    other = client.get(url, params={"max_points": 50}, headers=alice | {"If-None-Match": etag})
    assert other.status_code == 200
    write(migrated_database, job_id, range(6, 7))
    newer = client.get(url, params={"max_points": 100}, headers=alice | {"If-None-Match": etag})
    assert newer.status_code == 200
    assert newer.headers["etag"] != etag
    assert newer.json()["items"][-1]["epoch"] == 6


def test_csv_has_a_column_per_key(
    client: TestClient, alice: Headers, migrated_database: Engine
) -> None:
    job_id = submit(client, alice)
    write(migrated_database, job_id, range(1, 4), **{"lr/1": 0.5})
    response = client.get(
        f"/api/v1/jobs/{job_id}/metrics", params={"format": "csv", "since_epoch": 1}, headers=alice
    )
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["x-next-since-epoch"] == "3"
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == ["epoch", "train_accuracy", "train_loss", "lr/0", "lr/1"]
    assert rows[1] == ["2", "0.5", "0.5", "0.5", "0.5"]
    assert len(rows) == 3


def _claimed_sink(engine: Engine, job_id: str) -> DbMetricSink:
    """The metric sink of a worker that has just claimed the job."""
    with session_scope(engine) as session:
        attempt = jobs.claim(session, job_id=uuid.UUID(job_id), worker="test", lease_seconds=60)
    assert attempt is not None
    return DbMetricSink(
        uuid.UUID(job_id), engine=engine, flush_seconds=0.005, attempt=attempt, lease_seconds=60
    )


def _writer(engine: Engine, job_id: str, epochs: int) -> threading.Thread:
    def train() -> None:
        sink = _claimed_sink(engine, job_id)
        for epoch in range(1, epochs + 1):
            sink.log_epoch(epoch, {"train_loss": 1 / epoch, "lr/0": 0.1}, epoch)
        sink.flush()
        finish(engine, job_id)

    return threading.Thread(target=train)


def test_since_epoch_polling_never_skips_or_repeats_while_a_job_writes(
    client: TestClient, alice: Headers, migrated_database: Engine
) -> None:
    job_id = submit(client, alice)
    writer = _writer(migrated_database, job_id, 400)
    writer.start()
    seen: list[int] = []
    since = 0
    while writer.is_alive() or since < 400:
        page = get(client, job_id, alice, since_epoch=since, limit=37)
        seen += [item["epoch"] for item in page["items"]]
        since = page["next_since_epoch"]
    writer.join()
    assert seen == list(range(1, 401))


def _run(engine: Engine, client: TestClient, headers: Headers, spec: dict[str, Any]) -> str:
    job_id = submit(client, headers, spec)
    run_job(uuid.UUID(job_id), engine)
    return job_id


@pytest.fixture(scope="module")
def trained(migrated_database: Engine, client: TestClient) -> dict[str, Any]:
    """A classification and a regression job, trained by the worker's code."""
    with session_scope(migrated_database) as session:
        _, token = users.create(session, name=f"trainer-{uuid.uuid4().hex[:8]}")
    headers = {"Authorization": f"Bearer {token}"}
    return {
        "headers": headers,
        "moons": _run(migrated_database, client, headers, moons_spec(epochs=30)),
        "regression": _run(migrated_database, client, headers, REGRESSION),
    }


@pytest.mark.parametrize(
    ("job", "keys"),
    [
        ("moons", {"train_loss", "train_accuracy"}),
        ("regression", {"train_loss", "train_r2", "train_mae"}),
    ],
)
def test_trained_jobs_record_every_epoch_and_summaries_match(
    client: TestClient, trained: dict[str, Any], job: str, keys: set[str]
) -> None:
    headers, job_id = trained["headers"], trained[job]
    items = get(client, job_id, headers)["items"]
    assert [item["epoch"] for item in items] == list(range(1, len(items) + 1))
    recorded = keys | {"epoch", "lr", "iterations", "seconds", "samples_per_second"}
    assert all(set(item) == recorded for item in items)
    response = client.get(f"/api/v1/jobs/{job_id}/metrics/summary", headers=headers)
    summary = response.json()
    assert summary["epochs"] == len(items)
    for key in keys:
        values = [item[key] for item in items]
        found = summary["keys"][key]
        assert (found["last"], found["last_epoch"]) == (values[-1], len(items))
        assert (found["min"], found["min_epoch"]) == (min(values), values.index(min(values)) + 1)
        assert (found["max"], found["max_epoch"]) == (max(values), values.index(max(values)) + 1)
    assert set(summary["keys"]) == recorded - {"epoch", "lr"} | {"lr/0"}
    only = client.get(
        f"/api/v1/jobs/{job_id}/metrics/summary", params={"keys": "lr"}, headers=headers
    )
    assert list(only.json()["keys"]) == ["lr/0"]


def test_compare_runs_side_by_side(
    client: TestClient, trained: dict[str, Any], bob: Headers
) -> None:
    headers = trained["headers"]
    ids = f"{trained['moons']},{trained['regression']}"
    response = client.get(
        "/api/v1/metrics",
        params={"job_ids": ids, "key": "train_loss", "max_points": 12},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert [s["job_id"] for s in body["series"]] == ids.split(",")
    moons = body["series"][0]
    assert (moons["epochs"][0], moons["epochs"][-1]) == (1, 30)
    assert len(moons["epochs"]) <= 12
    full = get(client, trained["moons"], headers, keys="train_loss")["items"]
    assert min(moons["values"]) == min(item["train_loss"] for item in full)
    lr = client.get("/api/v1/metrics", params={"job_ids": ids, "key": "lr"}, headers=headers)
    assert lr.json()["key"] == "lr/0"
    assert lr.json()["series"][0]["values"][0] == 0.01
    assert (
        client.get(
            "/api/v1/metrics", params={"job_ids": ids, "key": "train_loss"}, headers=bob
        ).status_code
        == 404
    )


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"job_ids": "nope", "key": "train_loss"}, "job_ids"),
        ({"job_ids": "", "key": "train_loss"}, "job_ids"),
        ({"key": "train_loss"}, "job_ids"),
        ({"job_ids": "MOONS", "key": "val_bogus"}, "key"),
        ({"job_ids": "MOONS", "key": "train_loss", "max_points": 0}, "max_points"),
    ],
)
def test_compare_rejects_bad_parameters(
    client: TestClient, trained: dict[str, Any], params: dict[str, Any], field: str
) -> None:
    if params.get("job_ids") == "MOONS":
        params["job_ids"] = trained["moons"]
    response = client.get("/api/v1/metrics", params=params, headers=trained["headers"])
    assert response.status_code == 422, response.text
    assert [error["field"] for error in response.json()["detail"]] == [field]


def test_foreign_jobs_are_404s_everywhere(client: TestClient, alice: Headers, bob: Headers) -> None:
    job_id = submit(client, alice)
    for path in ("metrics", "metrics/summary", "events"):
        assert client.get(f"/api/v1/jobs/{job_id}/{path}", headers=bob).status_code == 404


def _train_with_events(engine: Engine, job_id: str, epochs: int) -> threading.Thread:
    """A running job that writes epochs, an lr event at epoch 100, and then succeeds."""

    def train() -> None:
        sink = _claimed_sink(engine, job_id)
        for epoch in range(1, epochs + 1):
            sink.log_epoch(epoch, {"train_loss": 1 / epoch, "lr/0": 0.1}, epoch)
            if epoch == 100:
                sink.log_event("lr_reduced_on_plateau", epoch, {"from": [0.1], "to": [0.05]})
        sink.flush()
        outcome = Outcome(status=JobStatus.SUCCEEDED, stop_reason="completed", epoch=epochs)
        with session_scope(engine) as session:
            jobs.finish(session, job_id=uuid.UUID(job_id), attempt=sink.attempt, outcome=outcome)

    return threading.Thread(target=train)


@dataclass
class ServerSentEvent:
    event: str
    data: str
    id: str | None


def parse_events(lines: Iterable[str]) -> Iterator[ServerSentEvent]:
    """The events of a text/event-stream, as a browser's EventSource reads them."""
    fields: dict[str, list[str]] = {}
    for line in lines:
        if not line:
            if "data" in fields:
                event = fields.get("event", ["message"])[-1]
                last_id = fields["id"][-1] if "id" in fields else None
                yield ServerSentEvent(event, "\n".join(fields["data"]), last_id)
            fields = {}
        elif not line.startswith(":"):
            name, _, value = line.partition(": ")
            fields.setdefault(name, []).append(value)


def _read_stream(
    client: TestClient, job_id: str, headers: Headers, stop_after_epochs: int | None = None
) -> list[ServerSentEvent]:
    received: list[ServerSentEvent] = []
    stream_headers = headers | {"Accept": "text/event-stream"}
    with client.stream("GET", f"/api/v1/jobs/{job_id}/events", headers=stream_headers) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        for event in parse_events(response.iter_lines()):
            received.append(event)
            epochs = sum(e.event == "epoch" for e in received)
            if stop_after_epochs is not None and epochs >= stop_after_epochs:
                break
    return received


@pytest.fixture
def fast_stream(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(get_settings(), "EVENTS_POLL_SECONDS", 0.01)
    monkeypatch.setattr(event_stream, "BATCH", 7)  # many polls, epochs and events interleaved


@pytest.mark.usefixtures("fast_stream")
def test_event_stream_delivers_every_epoch_once_across_a_reconnect(
    client: TestClient, alice: Headers, migrated_database: Engine
) -> None:
    job_id = submit(client, alice)
    writer = _train_with_events(migrated_database, job_id, 300)
    writer.start()
    first = _read_stream(client, job_id, alice, stop_after_epochs=120)
    resume = alice | {"Last-Event-ID": first[-1].id or ""}
    second = _read_stream(client, job_id, resume)
    writer.join()
    received = first + second
    epochs = [json.loads(e.data)["epoch"] for e in received if e.event == "epoch"]
    assert epochs == list(range(1, 301))
    kinds = [e.event for e in received if e.event != "epoch"]
    assert kinds == ["queued", "started", "lr_reduced_on_plateau", "succeeded", "end"]
    plateau = next(e for e in received if e.event == "lr_reduced_on_plateau")
    assert json.loads(plateau.data)["data"] == {"from": [0.1], "to": [0.05]}
    assert json.loads(second[-1].data)["status"] == "succeeded"
    order = [json.loads(e.data)["epoch"] if e.event == "epoch" else e.event for e in received]
    assert order.index("started") < order.index(1)
    assert order.index(100) < order.index("lr_reduced_on_plateau") < order.index(101)
    assert order.index(300) < order.index("succeeded")
    done = client.get(
        f"/api/v1/jobs/{job_id}/events",
        headers=alice | {"Accept": "text/event-stream", "Last-Event-ID": second[-1].id or ""},
    )
    assert done.status_code == 204


def test_events_are_json_unless_a_stream_is_asked_for(client: TestClient, alice: Headers) -> None:
    job_id = submit(client, alice)
    for params in ({}, {"format": "json"}):
        response = client.get(f"/api/v1/jobs/{job_id}/events", params=params, headers=alice)
        assert [event["kind"] for event in response.json()] == ["queued"]
    bad = client.get(
        f"/api/v1/jobs/{job_id}/events",
        headers=alice | {"Accept": "text/event-stream", "Last-Event-ID": "yesterday"},
    )
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["field"] == "Last-Event-ID"
