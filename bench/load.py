"""API under load: metric polls and submissions from threads on loopback while a job trains."""

import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from bench.e2e import TINY_JOB
from bench.stats import summary
from tests.integration.stack import Stack, wait_for

Request = Callable[[httpx.Client], httpx.Response]
# epochs enough to outlast any load phase: the writer is cancelled when the phases are done
WRITER_EPOCHS = 1_000_000


@dataclass
class Samples:
    """Latencies of the answered requests, failures, and how late the open loop sent them."""

    latencies: list[float] = field(default_factory=list)
    late: list[float] = field(default_factory=list)
    failures: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, latency: float, late: float, ok: bool) -> None:
        with self.lock:
            self.latencies.append(latency)
            self.late.append(late)
            self.failures += not ok

    def report(self, seconds: float, rate: float | None = None) -> dict[str, Any]:
        return {
            "target_per_s": rate,
            "requests": len(self.latencies),
            "failures": self.failures,
            "per_s": len(self.latencies) / seconds if seconds > 0 else 0.0,
            "latency_s": summary(self.latencies),
            "sent_late_p99_s": summary(self.late)["p99"] if rate else None,
        }


def _worker(
    client_factory: Callable[[], httpx.Client],
    request: Request,
    due: Callable[[int], float | None],
    samples: Samples,
    expect: int,
) -> None:
    with client_factory() as client:
        for index in itertools.count():
            at = due(index)
            if at is None:
                return
            time.sleep(max(0.0, at - time.perf_counter()))
            sent = time.perf_counter()
            try:
                ok = request(client).status_code == expect
            except httpx.HTTPError:
                ok = False
            samples.add(time.perf_counter() - sent, max(0.0, sent - at), ok)


class OpenLoop:
    """round(rate * seconds) requests sent at a fixed rate by threads, whatever the answers take."""

    def __init__(
        self,
        client_factory: Callable[[], httpx.Client],
        request: Request,
        *,
        rate: float,
        seconds: float,
        threads: int,
        expect: int = 200,
    ) -> None:
        self.rate, self.seconds = rate, seconds
        self.samples = Samples()
        self._total = round(rate * seconds)
        self._counter = itertools.count()
        self._lock = threading.Lock()
        self._started = 0.0
        self._ended = 0.0
        self._threads = [
            threading.Thread(
                target=_worker,
                args=(client_factory, request, self._due, self.samples, expect),
                daemon=True,
            )
            for _ in range(threads)
        ]

    def _due(self, _index: int) -> float | None:
        with self._lock:
            index = next(self._counter)
        return self._started + index / self.rate if index < self._total else None

    def start(self) -> None:
        self._started = time.perf_counter()
        for thread in self._threads:
            thread.start()

    def join(self) -> None:
        for thread in self._threads:
            thread.join(timeout=self.seconds + 60)
        self._ended = time.perf_counter()

    def report(self) -> dict[str, Any]:
        return self.samples.report(self._ended - self._started, self.rate)


def closed_loop(
    client_factory: Callable[[], httpx.Client], request: Request, *, seconds: float, threads: int
) -> dict[str, Any]:
    """threads that each send the next request as soon as the last is answered, for seconds."""
    samples = Samples()
    start = time.perf_counter()
    stop = start + seconds
    workers = [
        threading.Thread(
            target=_worker,
            args=(
                client_factory,
                request,
                lambda _i: time.perf_counter() if time.perf_counter() < stop else None,
                samples,
                200,
            ),
            daemon=True,
        )
        for _ in range(threads)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=seconds + 60)
    return samples.report(time.perf_counter() - start) | {"threads": threads}


class Poller:
    """GET /metrics?since_epoch= as a polling client does: each thread follows its own cursor."""

    def __init__(self, job_id: str) -> None:
        self.job_id = job_id
        self._cursor = threading.local()

    def __call__(self, client: httpx.Client) -> httpx.Response:
        since = getattr(self._cursor, "since", 0)
        response = client.get(f"/api/v1/jobs/{self.job_id}/metrics", params={"since_epoch": since})
        if response.status_code == 200:
            self._cursor.since = response.json()["next_since_epoch"]
        return response


class Submitter:
    """POST /api/v1/jobs of a tiny job; keeps the ids to cancel them afterwards."""

    def __init__(self) -> None:
        self.job_ids: list[str] = []

    def __call__(self, client: httpx.Client) -> httpx.Response:
        response = client.post("/api/v1/jobs", json={"name": "bench-load", "spec": TINY_JOB})
        if response.status_code == 201:
            self.job_ids.append(response.json()["id"])
        return response


def _start_writer(client: httpx.Client) -> str:
    """A long job, running and past its first flush, for the polls to read."""
    spec = TINY_JOB | {"training": {"epochs": WRITER_EPOCHS, "seed": 0}}
    job_id: str = client.post("/api/v1/jobs", json={"name": "bench-writer", "spec": spec}).json()[
        "id"
    ]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job = client.get(f"/api/v1/jobs/{job_id}").json()
        if job["status"] == "running" and job["current_epoch"] > 0:
            return job_id
        time.sleep(0.1)
    raise TimeoutError("the writer job did not start writing epochs within 60 s")


def api_under_load(
    stack: Stack,
    token: str,
    *,
    poll_rate: float,
    submit_rate: float,
    seconds: float,
    threads: int,
    burst_seconds: float,
) -> dict[str, Any]:
    """Polls and submissions at fixed rates together, then polls as fast as threads can."""

    def client_factory() -> httpx.Client:
        return stack.client(token)

    with client_factory() as client:
        writer = _start_writer(client)
        poller, submitter = Poller(writer), Submitter()
        polls = OpenLoop(client_factory, poller, rate=poll_rate, seconds=seconds, threads=threads)
        submits = OpenLoop(
            client_factory, submitter, rate=submit_rate, seconds=seconds, threads=2, expect=201
        )
        for phase in (polls, submits):
            phase.start()
        for phase in (polls, submits):
            phase.join()
        result = {
            "seconds": seconds,
            "polls": polls.report(),
            "submissions": submits.report(),
            "polls_max_rate": closed_loop(
                client_factory, Poller(writer), seconds=burst_seconds, threads=threads
            ),
        }
        epochs = client.get(f"/api/v1/jobs/{writer}").json()["current_epoch"]
        for job_id in [*submitter.job_ids, writer]:
            client.post(f"/api/v1/jobs/{job_id}/cancel")
        wait_for(client, writer)
    return result | {"writer_epochs_during_run": epochs}
