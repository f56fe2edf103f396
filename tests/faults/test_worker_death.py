"""A worker killed or frozen mid-epoch: the job resumes from its checkpoint, exactly, once."""

import os
import signal
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.faults.cluster import PrivateRedis, cluster, job, wait_until
from tests.faults.workload import slow_spec, uninterrupted
from tests.integration.stack import all_metrics, wait_for


def _events(client: httpx.Client, job_id: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = job(client, job_id)["events"]
    return events


def _assert_same_epochs(client: httpx.Client, job_id: str, spec: dict[str, Any]) -> None:
    rows = all_metrics(client, job_id)
    expected = uninterrupted(spec)
    assert [row["epoch"] for row in rows] == list(range(1, len(expected) + 1))
    for row, reference in zip(rows, expected, strict=True):
        assert row["train_loss"] == pytest.approx(reference["train_loss"], abs=1e-6)
        assert row["lr"] == [pytest.approx(reference["lr/0"], rel=1e-12)]


def test_a_killed_worker_resumes_from_its_checkpoint(tmp_path: Path, redis: PrivateRedis) -> None:
    spec = slow_spec(epochs=40)
    with cluster(tmp_path, broker_url=redis.url) as running:
        first = running.start_worker()
        client = running.client()
        job_id = client.post("/api/v1/jobs", json={"spec": spec}).raise_for_status().json()["id"]
        wait_until(client, job_id, lambda j: j["checkpoint_epoch"] >= 5, timeout=90)
        first.send_signal(signal.SIGKILL)
        first.wait()
        running.start_worker()
        done = wait_for(client, job_id, timeout=120)
        assert done["status"] == "succeeded", running.log("worker1.log")
        assert done["attempt"] == 2
        kinds = [event["kind"] for event in done["events"]]
        assert kinds.count("started") == 2
        assert kinds.count("requeued") == 1
        resumed = [e for e in done["events"] if e["kind"] == "started"][1]
        assert resumed["data"]["resumed_from_epoch"] >= 5
        _assert_same_epochs(client, job_id, spec)


def test_a_frozen_worker_writes_nothing_once_its_lease_is_gone(
    tmp_path: Path, redis: PrivateRedis
) -> None:
    spec = slow_spec(epochs=40)
    with cluster(tmp_path, broker_url=redis.url) as running:
        frozen = running.start_worker()
        client = running.client()
        job_id = client.post("/api/v1/jobs", json={"spec": spec}).raise_for_status().json()["id"]
        wait_until(client, job_id, lambda j: j["current_epoch"] >= 3, timeout=90)
        os.kill(frozen.pid, signal.SIGSTOP)
        try:
            running.start_worker()
            wait_until(client, job_id, lambda j: j["attempt"] == 2, timeout=60)
        finally:
            os.kill(frozen.pid, signal.SIGCONT)  # the zombie wakes up and tries to write
        done = wait_for(client, job_id, timeout=120)
        assert (done["status"], done["attempt"]) == ("succeeded", 2)
        _assert_same_epochs(client, job_id, spec)
        wait_until(client, job_id, lambda _j: "lease_lost" in running.log("worker0.log"), 30)


def test_a_job_that_keeps_killing_its_worker_fails_after_max_attempts(
    tmp_path: Path, redis: PrivateRedis
) -> None:
    with cluster(tmp_path, broker_url=redis.url) as running:
        client = running.client()
        body = {"spec": slow_spec(epochs=400), "max_attempts": 2}
        job_id = client.post("/api/v1/jobs", json=body).raise_for_status().json()["id"]
        for attempt in (1, 2):
            worker = running.start_worker()
            wait_until(
                client,
                job_id,
                lambda j, n=attempt: j["attempt"] == n and j["status"] == "running",
                timeout=60,
            )
            worker.send_signal(signal.SIGKILL)
            worker.wait()
        running.start_worker()  # its sweeper finds the expired lease
        done = wait_for(client, job_id, timeout=60)
        assert (done["status"], done["stop_reason"], done["attempt"]) == (
            "failed",
            "worker_lost",
            2,
        )
        assert "gave up after 2 attempts" in done["error"]
