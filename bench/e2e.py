"""End to end: POST /api/v1/jobs to succeeded on a running `gradq serve`, split into its parts."""

import random
import time
from datetime import datetime
from typing import Any

import httpx

from bench.stats import summary
from tests.helpers import moons_spec
from tests.integration.stack import FINISHED

# the moons job without its schedule, for 20 epochs
TINY_JOB: dict[str, Any] = {
    key: value for key, value in moons_spec(epochs=20).items() if key != "scheduler"
}
POLL_SECONDS = 0.01
# a pause drawn from [0, this) before each job: submitted the moment the previous one is seen to
# succeed, a job reaches an idle embedded worker just after its first empty poll, and would always
# wait that poll's whole interval
ARRIVAL_JITTER_SECONDS = 0.2
JOB_TIMEOUT_SECONDS = 60.0
PARTS = ("total", "submit", "queue_wait", "train", "setup_and_finalise", "observed")


def _at(value: str) -> float:
    return datetime.fromisoformat(value).timestamp()


def _wait(client: httpx.Client, job_id: str) -> tuple[dict[str, Any], float]:
    deadline = time.monotonic() + JOB_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        job: dict[str, Any] = client.get(f"/api/v1/jobs/{job_id}").raise_for_status().json()
        if job["status"] in FINISHED:
            return job, time.time()
        time.sleep(POLL_SECONDS)
    raise TimeoutError(f"job {job_id} not finished after {JOB_TIMEOUT_SECONDS}s")


def one_job(client: httpx.Client, spec: dict[str, Any]) -> dict[str, float]:
    """Submit spec, poll until it ends, and split the time with the job's own timestamps.

    submit: POST sent -> row created; queue_wait: created -> claimed (started_at); train: the
    epochs' own seconds; setup_and_finalise: the rest of started -> finished (spec load, build,
    last flush, finish); observed: finished -> seen by this poller. The client and server share a
    clock: they run on one machine.
    """
    sent = time.time()
    response = client.post("/api/v1/jobs", json={"name": "bench-e2e", "spec": spec})
    job_id = response.raise_for_status().json()["id"]
    job, seen = _wait(client, job_id)
    if job["status"] != "succeeded":
        raise RuntimeError(f"job {job_id} ended {job['status']}: {job.get('error')}")
    items = client.get(f"/api/v1/jobs/{job_id}/metrics").raise_for_status().json()["items"]
    train = sum(item["seconds"] for item in items)
    created, started, finished = (
        _at(job[key]) for key in ("created_at", "started_at", "finished_at")
    )
    return {
        "total": seen - sent,
        "submit": created - sent,
        "queue_wait": started - created,
        "train": train,
        "setup_and_finalise": finished - started - train,
        "observed": seen - finished,
    }


def end_to_end(
    client: httpx.Client, jobs: int, warmup: int = 2, spec: dict[str, Any] | None = None
) -> dict[str, Any]:
    """jobs tiny jobs one after another on a warm worker, each after a random pause: median, p95
    and max of each part.

    The first warm-up job is the first the worker runs since it started: its total is kept.
    """
    spec = spec or TINY_JOB
    first = [one_job(client, spec)["total"] for _ in range(warmup)][:1]
    arrivals = random.Random(0)
    runs = []
    for _ in range(jobs):
        time.sleep(arrivals.uniform(0, ARRIVAL_JITTER_SECONDS))
        runs.append(one_job(client, spec))
    return {
        "jobs": jobs,
        "epochs_per_job": spec["training"]["epochs"],
        **({"first_job_s": first[0]} if first else {}),
        **{part: summary([run[part] for run in runs]) for part in PARTS},
    }
