"""The broker only wakes workers: a Redis restart or a redelivered message runs no job twice."""

import time
from pathlib import Path

from tests.faults.cluster import PrivateRedis, cluster, job, wait_until
from tests.faults.workload import slow_spec
from tests.helpers import moons_spec
from tests.integration.stack import wait_for
from worker.celery_app import create_celery
from worker.enqueue import RUN_JOB_TASK


def _starts(events: list[dict[str, object]]) -> int:
    return sum(event["kind"] == "started" for event in events)


def test_queued_jobs_run_exactly_once_after_redis_restarts(
    tmp_path: Path, redis: PrivateRedis
) -> None:
    with cluster(tmp_path, broker_url=redis.url) as running:
        client = running.client()
        ids = [
            client.post("/api/v1/jobs", json={"spec": moons_spec(epochs=50)})
            .raise_for_status()
            .json()["id"]
            for _ in range(4)
        ]
        redis.stop()  # it keeps nothing on disk: every wake-up message is gone
        redis.start()
        running.start_worker()
        for job_id in ids:
            done = wait_for(client, job_id, timeout=90)
            assert (done["status"], done["attempt"]) == ("succeeded", 1)
            assert _starts(done["events"]) == 1


def test_a_redelivered_or_duplicate_message_starts_no_second_run(
    tmp_path: Path, redis: PrivateRedis
) -> None:
    with cluster(tmp_path, broker_url=redis.url, broker_visibility_timeout="1") as running:
        running.start_worker()
        running.start_worker()
        client = running.client()
        job_id = (
            client.post("/api/v1/jobs", json={"spec": slow_spec(epochs=30)})
            .raise_for_status()
            .json()["id"]
        )
        wait_until(client, job_id, lambda j: j["status"] == "running")
        # well past the visibility timeout, and a duplicate of the job's message on top
        time.sleep(3)
        app = create_celery()
        app.conf.broker_url = redis.url
        app.send_task(RUN_JOB_TASK, args=[job_id], queue=running.env["GRADQ_TRAINING_QUEUE"])
        done = wait_for(client, job_id, timeout=120)
        assert (done["status"], done["attempt"]) == ("succeeded", 1)
        assert _starts(job(client, job_id)["events"]) == 1
