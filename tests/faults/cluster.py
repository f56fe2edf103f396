"""Processes a fault test controls one by one: an API, workers it can kill, a private Redis,
and a TCP proxy in front of PostgreSQL that can refuse connections."""

import os
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from cli.workers import CELERY_WORKER
from tests.databases import postgres_database
from tests.integration.stack import REPO_ROOT, free_port, wait_for

FAST_RECOVERY = {
    "GRADQ_LEASE_SECONDS": "3",
    "GRADQ_HEARTBEAT_SECONDS": "0.5",
    "GRADQ_SWEEP_SECONDS": "0.5",
    # a worker frozen mid-flush frees its job's row this soon
    "GRADQ_DB_IDLE_IN_TRANSACTION_SECONDS": "5",
    "GRADQ_RESEND_SECONDS": "2",
    "GRADQ_METRICS_FLUSH_SECONDS": "0.2",
    "GRADQ_CHECKPOINT_MIN_SECONDS": "0",
    "GRADQ_RATE_LIMIT_PER_MINUTE": "1000000",
    "GRADQ_RATE_LIMIT_BURST": "100000",
}


class PrivateRedis:
    """A redis-server of the test's own, on a free port, keeping nothing on disk."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--save", "", "--appendonly", "no"],
            cwd=self.workdir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 0.2):
                return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


class DatabaseProxy:
    """Forwards a local port to PostgreSQL; refuse() drops every connection and the listener."""

    def __init__(self, target_port: int = 5432) -> None:
        self.port = free_port()
        self._target = ("127.0.0.1", target_port)
        self._up = threading.Event()
        self._stop = threading.Event()
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def start(self) -> None:
        self._up.set()
        self._thread.start()

    def refuse(self) -> None:
        with self._lock:
            self._up.clear()
            if self._listener is not None:
                self._listener.close()
                self._listener = None
            for sock in self._sockets:
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self._sockets.clear()

    def accept_again(self) -> None:
        self._up.set()

    def close(self) -> None:
        self._stop.set()
        self.refuse()

    def _serve(self) -> None:
        while not self._stop.is_set():
            if not self._up.wait(0.1):
                continue
            with self._lock:
                listener = socket.create_server(("127.0.0.1", self.port), reuse_port=True)
                listener.settimeout(0.1)
                self._listener = listener
            while self._up.is_set() and not self._stop.is_set():
                try:
                    client, _ = listener.accept()
                except TimeoutError:
                    continue
                except OSError:
                    break  # refuse() closed the listener
                try:
                    upstream = socket.create_connection(self._target)
                except OSError:
                    client.close()
                    continue
                with self._lock:
                    if not self._up.is_set():
                        client.close()
                        upstream.close()
                        continue
                    self._sockets |= {client, upstream}
                threading.Thread(target=self._pipe, args=(client, upstream), daemon=True).start()

    def _pipe(self, a: socket.socket, b: socket.socket) -> None:
        selector = selectors.DefaultSelector()
        selector.register(a, selectors.EVENT_READ, b)
        selector.register(b, selectors.EVENT_READ, a)
        try:
            while True:
                for key, _ in selector.select(timeout=1):
                    data = key.fileobj.recv(65536)  # type: ignore[union-attr]
                    if not data:
                        return
                    key.data.sendall(data)
        except (OSError, ValueError):
            return
        finally:
            selector.close()
            for sock in (a, b):
                with suppress(OSError):
                    sock.close()


@dataclass
class Cluster:
    """An API process and any number of worker processes on one database and broker."""

    env: dict[str, str]
    data_dir: Path
    url: str = ""
    admin_token: str = ""
    api: subprocess.Popen[bytes] | None = None
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token or self.admin_token}"}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def _spawn(self, args: list[str], log_name: str) -> subprocess.Popen[bytes]:
        with (self.data_dir / log_name).open("ab") as log:
            return subprocess.Popen(
                [sys.executable, *args], cwd=REPO_ROOT, env=self.env, stdout=log, stderr=log
            )

    def start_api(self) -> None:
        prepare = subprocess.run(
            [
                sys.executable,
                "-c",
                "from cli.serve import prepare; from core.settings import get_settings; "
                "print(prepare(get_settings()))",
            ],
            cwd=REPO_ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
        )
        self.admin_token = prepare.stdout.strip().splitlines()[-1]
        port = self.env["GRADQ_PORT"]
        self.url = f"http://127.0.0.1:{port}"
        self.api = self._spawn(
            ["-m", "uvicorn", "api.main:create_app", "--factory", "--port", port], "api.log"
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/livez", timeout=1).status_code == 200:
                    return
            time.sleep(0.2)
        raise RuntimeError(self.log("api.log"))

    def start_worker(self) -> subprocess.Popen[bytes]:
        name = f"w{len(self.workers)}-{uuid.uuid4().hex[:6]}@%h"
        queue = self.env["GRADQ_TRAINING_QUEUE"]
        worker = self._spawn(
            [*CELERY_WORKER[1:], "-n", name, "-Q", queue], f"worker{len(self.workers)}.log"
        )
        self.workers.append(worker)
        return worker

    def log(self, name: str) -> str:
        path = self.data_dir / name
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def stop(self) -> None:
        for process in [*self.workers, self.api]:
            if process is not None and process.poll() is None:
                with suppress(ProcessLookupError):
                    os.kill(process.pid, signal.SIGCONT)
                process.terminate()
        for process in [*self.workers, self.api]:
            if process is None:
                continue
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextmanager
def cluster(
    data_dir: Path, *, database_url: str | None = None, broker_url: str, **settings: str
) -> Iterator[Cluster]:
    """A Cluster on PostgreSQL (a fresh database, or database_url) and the given broker."""
    with postgres_database() as fresh_url:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GRADQ_")}
        env |= FAST_RECOVERY | {
            "GRADQ_DATA_DIR": str(data_dir),
            "GRADQ_PORT": str(free_port()),
            "GRADQ_TRAINING_QUEUE": f"faults-{uuid.uuid4().hex[:8]}",
            "GRADQ_DATABASE_URL": database_url or fresh_url,
            "GRADQ_BROKER_URL": broker_url,
            "OMP_NUM_THREADS": "1",
        }
        env |= {f"GRADQ_{key.upper()}": value for key, value in settings.items()}
        running = Cluster(env=env, data_dir=data_dir)
        try:
            running.start_api()
            yield running
        finally:
            running.stop()


def proxied(database_url: str, proxy: DatabaseProxy) -> str:
    """The same database reached through the proxy."""
    head, tail = database_url.split("@", 1)
    return f"{head}@127.0.0.1:{proxy.port}/{tail.split('/', 1)[1]}"


def job(client: httpx.Client, job_id: str) -> dict[str, Any]:
    found: dict[str, Any] = client.get(f"/api/v1/jobs/{job_id}").raise_for_status().json()
    return found


def wait_until(
    client: httpx.Client, job_id: str, predicate: Any, timeout: float = 60
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = job(client, job_id)
        if predicate(found):
            return found
        time.sleep(0.05)
    raise TimeoutError(f"job {job_id}: {found['status']} epoch {found['current_epoch']}")


__all__ = ["Cluster", "DatabaseProxy", "PrivateRedis", "cluster", "proxied", "wait_for"]
