"""Cancel, pause and resume through HTTP with a real worker; fair order for two users."""

from pathlib import Path

import pytest

from tests.faults.cluster import PrivateRedis, cluster, wait_until
from tests.faults.workload import slow_spec, uninterrupted
from tests.helpers import moons_spec
from tests.integration.stack import all_metrics, wait_for


def test_pause_and_resume_end_with_the_numbers_of_an_uninterrupted_run(
    tmp_path: Path, redis: PrivateRedis
) -> None:
    spec = slow_spec(epochs=25)
    with cluster(tmp_path, broker_url=redis.url) as running:
        running.start_worker()
        client = running.client()
        job_id = client.post("/api/v1/jobs", json={"spec": spec}).raise_for_status().json()["id"]
        wait_until(client, job_id, lambda j: j["current_epoch"] >= 3)
        client.post(f"/api/v1/jobs/{job_id}/pause").raise_for_status()
        paused = wait_for(client, job_id, {"paused"}, timeout=60)
        assert 3 <= paused["checkpoint_epoch"] == paused["current_epoch"] < 25
        client.post(f"/api/v1/jobs/{job_id}/resume").raise_for_status()
        done = wait_for(client, job_id, timeout=120)
        assert (done["status"], done["attempt"]) == ("succeeded", 2)
        rows = all_metrics(client, job_id)
        expected = uninterrupted(spec)
        assert [row["epoch"] for row in rows] == list(range(1, 26))
        assert [row["train_loss"] for row in rows] == pytest.approx(
            [row["train_loss"] for row in expected], abs=1e-6
        )


def test_cancel_a_queued_and_a_running_job(tmp_path: Path, redis: PrivateRedis) -> None:
    with cluster(tmp_path, broker_url=redis.url) as running:
        client = running.client()
        long_job = (
            client.post("/api/v1/jobs", json={"spec": slow_spec(epochs=500)})
            .raise_for_status()
            .json()["id"]
        )
        waiting = client.post("/api/v1/jobs", json={"spec": moons_spec(epochs=5)}).json()["id"]
        client.post(f"/api/v1/jobs/{waiting}/cancel").raise_for_status()
        running.start_worker()
        wait_until(client, long_job, lambda j: j["current_epoch"] >= 2)
        client.post(f"/api/v1/jobs/{long_job}/cancel").raise_for_status()
        stopped = wait_for(client, long_job, timeout=10)
        assert (stopped["status"], stopped["stop_reason"]) == ("cancelled", "cancelled")
        never = wait_for(client, waiting, timeout=5)
        assert (never["status"], never["attempt"], never["started_at"]) == ("cancelled", 0, None)


def test_a_job_stops_at_its_max_runtime(tmp_path: Path, redis: PrivateRedis) -> None:
    with cluster(tmp_path, broker_url=redis.url) as running:
        running.start_worker()
        client = running.client()
        body = {"spec": slow_spec(epochs=500), "max_runtime_s": 3}
        job_id = client.post("/api/v1/jobs", json=body).raise_for_status().json()["id"]
        done = wait_for(client, job_id, timeout=60)
        assert (done["status"], done["stop_reason"]) == ("cancelled", "max_runtime_exceeded")
        assert 0 < done["current_epoch"] < 500


def test_fair_order_puts_a_second_user_ahead_of_a_backlog(
    tmp_path: Path, redis: PrivateRedis
) -> None:
    with cluster(tmp_path, broker_url=redis.url) as running:
        admin = running.client()
        tokens = {
            name: admin.post("/api/v1/users", json={"name": name}).json()["token"]
            for name in ("ann", "ben")
        }
        ann, ben = running.client(tokens["ann"]), running.client(tokens["ben"])
        backlog = [
            ann.post("/api/v1/jobs", json={"spec": moons_spec(epochs=20)}).json()["id"]
            for _ in range(10)
        ]
        late = ben.post("/api/v1/jobs", json={"spec": moons_spec(epochs=20)}).json()["id"]
        queue = admin.get("/api/v1/queue").raise_for_status().json()
        assert [entry["job_id"] for entry in queue["items"]][:2] == [backlog[0], late]
        running.start_worker()
        finished = {job_id: wait_for(admin, job_id) for job_id in [*backlog, late]}
        order = sorted(finished, key=lambda job_id: finished[job_id]["started_at"])
        assert order.index(late) <= 1
