"""PostgreSQL refuses connections mid-training: metrics are retried, none lost; the API says 503."""

import time
from pathlib import Path

import pytest

from tests.databases import postgres_database
from tests.faults.cluster import DatabaseProxy, PrivateRedis, cluster, proxied, wait_until
from tests.faults.workload import slow_spec, uninterrupted
from tests.integration.stack import all_metrics, wait_for


def test_an_outage_loses_no_epoch_and_answers_503(tmp_path: Path, redis: PrivateRedis) -> None:
    spec = slow_spec(epochs=30)
    proxy = DatabaseProxy()
    proxy.start()
    with (
        postgres_database() as database_url,
        cluster(
            tmp_path,
            database_url=proxied(database_url, proxy),
            broker_url=redis.url,
            lease_seconds="30",
        ) as running,
    ):
        running.start_worker()
        client = running.client()
        job_id = client.post("/api/v1/jobs", json={"spec": spec}).raise_for_status().json()["id"]
        wait_until(client, job_id, lambda j: j["current_epoch"] >= 3)
        proxy.refuse()
        try:
            answers = set()
            deadline = time.monotonic() + 4
            while time.monotonic() < deadline:
                answers.add(client.get(f"/api/v1/jobs/{job_id}").status_code)
                time.sleep(0.2)
        finally:
            proxy.accept_again()
        assert answers == {503}
        done = wait_for(client, job_id, timeout=120)
        assert (done["status"], done["attempt"]) == ("succeeded", 1), running.log("worker0.log")
        rows = all_metrics(client, job_id)
        expected = uninterrupted(spec)
        assert [row["epoch"] for row in rows] == list(range(1, 31))
        assert [row["train_loss"] for row in rows] == pytest.approx(
            [row["train_loss"] for row in expected], abs=1e-6
        )
    proxy.close()
