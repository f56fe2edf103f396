"""A running gradq server (`gradq serve`: API + one worker) in a subprocess, on a chosen backend."""

import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.databases import REDIS_URL, postgres_database

REPO_ROOT = Path(__file__).resolve().parents[2]
FINISHED = {"succeeded", "failed", "cancelled"}
# what Celery logs once a worker consumes its queue
WORKER_READY = re.compile(r"INFO/MainProcess\] \S+@\S+ ready\.")


@dataclass
class Stack:
    url: str
    admin_token: str
    env: dict[str, str]
    log_path: Path

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token or self.admin_token}"}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def log_tail(self, chars: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]

    def wait_for_worker(self, timeout: float = 90) -> None:
        """Until a worker has said it is ready (/readyz does not wait for one)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if WORKER_READY.search(self.log_path.read_text(errors="replace")):
                return
            time.sleep(0.1)
        raise TimeoutError(f"no worker ready after {timeout}s:\n{self.log_tail()}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_ready(url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gradq serve exited:\n{log_path.read_text()[-4000:]}")
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"gradq serve not ready:\n{log_path.read_text()[-4000:]}")


def _env(
    data_dir: Path, port: int, database_url: str | None, broker_url: str | None
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRADQ_")}
    env |= {
        "GRADQ_DATA_DIR": str(data_dir),
        "GRADQ_PORT": str(port),
        "GRADQ_TRAINING_QUEUE": f"e2e-{uuid.uuid4().hex[:8]}",
        "GRADQ_METRICS_FLUSH_SECONDS": "0.2",
        # the suite and the benchmark poll hard with one token; tests/api covers the limiter
        "GRADQ_RATE_LIMIT_PER_MINUTE": "1000000",
        "GRADQ_RATE_LIMIT_BURST": "100000",
    }
    if database_url:
        env["GRADQ_DATABASE_URL"] = database_url
    if broker_url:
        env["GRADQ_BROKER_URL"] = broker_url
    return env


@contextmanager
def _serve(env: dict[str, str], data_dir: Path) -> Iterator[Stack]:
    log_path = data_dir / "serve.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "cli.main", "serve"],
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{env['GRADQ_PORT']}"
    try:
        _wait_ready(url, process, log_path)
        token = (data_dir / "admin-token").read_text().strip()
        yield Stack(url=url, admin_token=token, env=env, log_path=log_path)
    finally:
        process.send_signal(signal.SIGINT)  # what Ctrl-C sends
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            raise


@contextmanager
def running_stack(
    backend: str, data_dir: Path, settings: Mapping[str, str] | None = None
) -> Iterator[Stack]:
    """`gradq serve` on the embedded default, or on a fresh PostgreSQL database and Redis.

    settings: more GRADQ_ environment variables for it.
    """
    port = free_port()
    if backend == "embedded":
        with _serve(_env(data_dir, port, None, None) | dict(settings or {}), data_dir) as stack:
            yield stack
        return
    with postgres_database() as database_url:
        env = _env(data_dir, port, database_url, REDIS_URL) | dict(settings or {})
        with _serve(env, data_dir) as stack:
            yield stack


def wait_for(
    client: httpx.Client, job_id: str, done: set[str] | None = None, timeout: float = 120
) -> dict[str, Any]:
    """Poll the job until its status is in done (default: any finished status)."""
    done = done or FINISHED
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job: dict[str, Any] = client.get(f"/api/v1/jobs/{job_id}").raise_for_status().json()
        if job["status"] in done:
            return job
        time.sleep(0.1)
    raise TimeoutError(f"job {job_id} still {job['status']} after {timeout}s")


def new_user(stack: Stack, name: str) -> str:
    response = stack.client().post("/api/v1/users", json={"name": name})
    assert response.status_code == 201, response.text
    token: str = response.json()["token"]
    return token


def all_metrics(client: httpx.Client, job_id: str) -> list[dict[str, Any]]:
    """Read the metrics incrementally, as a polling client does."""
    items: list[dict[str, Any]] = []
    since = 0
    while True:
        page = client.get(
            f"/api/v1/jobs/{job_id}/metrics", params={"since_epoch": since, "limit": 300}
        ).json()
        if not page["items"]:
            return items
        items += page["items"]
        since = page["next_since_epoch"]
