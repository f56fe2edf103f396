"""gradq_client against a running API: submit, wait, metrics, CSV, frames, stream, errors."""

import json
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gradq_client import APIError, Client, Job, JobStatus, ServerUnreachable, StreamEvent
from gradq_client import job as job_module
from models import JobStatus as ServerJobStatus
from tests.cli.conftest import User, run_job
from tests.helpers import moons_spec


@pytest.fixture
def client(server_url: str, user: User) -> Iterator[Client]:
    with Client(server_url, user.token) as connected:
        yield connected


def test_job_statuses_match_the_server() -> None:
    assert [status.value for status in JobStatus] == [status.value for status in ServerJobStatus]


def test_submit_then_wait_reports_every_epoch(client: Client) -> None:
    job = client.submit(moons_spec(epochs=4), name="waited")
    assert job.data["status"] == "queued"
    assert job.warnings == []
    seen: list[int] = []
    worker = threading.Thread(target=run_job, args=(job.id,), kwargs={"epochs": 4, "delay": 0.02})
    worker.start()
    done = job.wait(
        progress=lambda _job, new: seen.extend(e["epoch"] for e in new), poll_interval=0.02
    )
    worker.join()
    assert done is job
    assert job.status == JobStatus.SUCCEEDED
    assert job.finished
    assert seen == [1, 2, 3, 4]
    assert job.final_metrics["train_loss"] == pytest.approx(0.25)


def test_wait_times_out_without_cancelling(client: Client) -> None:
    job = client.submit(moons_spec(epochs=2))
    with pytest.raises(TimeoutError):
        job.wait(poll_interval=0.01, timeout=0.05)
    assert job.refresh().status == JobStatus.QUEUED


def test_metrics_list_frame_and_csv(client: Client) -> None:
    job = client.submit(moons_spec(epochs=3))
    run_job(job.id, epochs=3)
    items = job.metrics()
    assert [item["epoch"] for item in items] == [1, 2, 3]
    assert items[0]["lr"] == [0.01]
    assert [item["epoch"] for item in job.metrics(since_epoch=1)] == [2, 3]
    frame = job.metrics_frame()
    assert list(frame.index) == [1, 2, 3]
    assert frame.loc[2, "train_loss"] == pytest.approx(0.5)
    assert frame.loc[3, "lr/0"] == pytest.approx(0.01)
    lines = job.metrics_csv().splitlines()
    assert lines[0].split(",")[0] == "epoch"
    assert [line.split(",")[0] for line in lines[1:]] == ["1", "2", "3"]


def test_metrics_and_csv_read_page_by_page(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(job_module, "METRICS_PAGE", 2)
    job = client.submit(moons_spec(epochs=5))
    run_job(job.id, epochs=5)
    assert [item["epoch"] for item in job.metrics()] == [1, 2, 3, 4, 5]
    lines = job.metrics_csv().splitlines()
    assert lines[0].startswith("epoch,")
    assert [line.split(",")[0] for line in lines[1:]] == ["1", "2", "3", "4", "5"]


def test_jobs_pages_and_filters(client: Client) -> None:
    made = [client.submit(moons_spec(epochs=2)).id for _ in range(3)]
    client.job(made[0]).cancel()
    assert [job.id for job in client.jobs(limit=10)] == made[::-1]
    assert [job.id for job in client.jobs(status="cancelled")] == [made[0]]


def test_errors_name_the_field(client: Client) -> None:
    spec = moons_spec()
    spec["training"]["epochs"] = 0
    with pytest.raises(APIError) as caught:
        client.submit(spec)
    assert caught.value.status_code == 422
    assert caught.value.problems[0].startswith("spec.training.epochs: ")
    missing = str(uuid.uuid4())
    with pytest.raises(APIError, match=f"no job {missing}"):
        client.job(missing)


def test_a_bad_token_is_401(server_url: str) -> None:
    with Client(server_url, "gq_not-a-token") as anonymous, pytest.raises(APIError) as caught:
        anonymous.jobs()
    assert caught.value.status_code == 401
    assert str(caught.value) == "unknown or revoked token"


def test_no_server_is_server_unreachable() -> None:
    with Client("http://127.0.0.1:9", "gq_x") as nowhere, pytest.raises(ServerUnreachable):
        nowhere.jobs()


def test_stream_delivers_each_epoch_once_then_the_end(client: Client) -> None:
    job = client.submit(moons_spec(epochs=3))
    worker = threading.Thread(target=run_job, args=(job.id,), kwargs={"epochs": 3, "delay": 0.05})
    worker.start()
    events = list(job.stream())
    worker.join()
    epochs = [event.data["epoch"] for event in events if event.event == "epoch"]
    assert epochs == [1, 2, 3]
    assert events[-1].event == "end"
    assert events[-1].data["status"] == "succeeded"
    resumed = list(job.stream(last_event_id=next(e.id for e in events if e.event == "epoch")))
    assert [e.data["epoch"] for e in resumed if e.event == "epoch"] == [2, 3]


def _sse(*events: tuple[str, str, str]) -> bytes:
    return "".join(f"id: {i}\nevent: {kind}\ndata: {data}\n\n" for i, kind, data in events).encode()


class _DroppingStream(httpx.SyncByteStream):
    """Sends some bytes, then fails as a dropped connection does."""

    def __init__(self, body: bytes) -> None:
        self.body = body

    def __iter__(self) -> Iterator[bytes]:
        yield self.body
        raise httpx.ReadError("connection reset")


def test_stream_resumes_after_a_dropped_connection() -> None:
    seen_ids: list[str | None] = []

    def answer(request: httpx.Request) -> httpx.Response:
        headers = {"content-type": "text/event-stream"}
        if request.url.path.endswith("/events"):
            seen_ids.append(request.headers.get("last-event-id"))
            if len(seen_ids) == 1:
                stream = _DroppingStream(_sse(("1-0", "epoch", '{"epoch": 1}')))
                return httpx.Response(200, headers=headers, stream=stream)
            body = _sse(("2-0", "epoch", '{"epoch": 2}'), ("2-1", "end", '{"status": "succeeded"}'))
            return httpx.Response(200, headers=headers, content=body)
        return httpx.Response(200, json={"id": "j", "status": "running"})

    with Client("http://gradq.test", "gq_x", transport=httpx.MockTransport(answer)) as client:
        job = Job(client, {"id": "j", "status": "running"})
        events = list(job.stream())
    assert seen_ids == [None, "1-0"]
    assert events == [
        StreamEvent("epoch", {"epoch": 1}, "1-0"),
        StreamEvent("epoch", {"epoch": 2}, "2-0"),
        StreamEvent("end", {"status": "succeeded"}, "2-1"),
    ]


def test_submit_sends_name_and_priority_only_when_given() -> None:
    bodies: list[dict[str, Any]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return httpx.Response(201, json={"id": "j", "status": "queued", "warnings": ["w"]})

    with Client("http://gradq.test", "gq_x", transport=httpx.MockTransport(answer)) as client:
        assert client.submit({"a": 1}).warnings == ["w"]
        client.submit({"a": 1}, name="n", priority=3)
    assert bodies == [{"spec": {"a": 1}}, {"spec": {"a": 1}, "name": "n", "priority": 3}]


def test_save_weights_streams_to_the_file_and_asks_for_which(tmp_path: Path) -> None:
    asked: list[str | None] = []

    def answer(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.params.get("which"))
        if request.url.params.get("which") == "best":
            return httpx.Response(404, json={"error": "WeightsNotFound", "detail": "no best epoch"})
        return httpx.Response(200, content=b"\x08\x00safetensors-bytes")

    with Client("http://gradq.test", "gq_x", transport=httpx.MockTransport(answer)) as client:
        job = Job(client, {"id": "j", "status": "succeeded"})
        path = job.save_weights(tmp_path / "model.safetensors")
        assert path.read_bytes() == b"\x08\x00safetensors-bytes"
        with pytest.raises(APIError, match="no best epoch"):
            job.save_weights(tmp_path / "best.safetensors", which="best")
    assert asked == ["final", "best"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.safetensors"]


def test_upload_dataset(client: Client, tmp_path: Path) -> None:
    path = tmp_path / "points.csv"
    path.write_text("a,b,label\n0.1,0.2,0\n0.3,0.4,1\n0.5,0.6,0\n0.7,0.8,1\n")
    try:
        uploaded: dict[str, Any] = client.upload_dataset(path, target="label", name="points")
    except APIError as exc:
        if exc.error == "NoSuchRoute":
            pytest.xfail("the server has no upload route yet")
        raise
    assert uploaded["id"] in {str(item["id"]) for item in client.datasets()}
