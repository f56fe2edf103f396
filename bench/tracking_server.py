"""A local `mlflow server` for the MLflow peer: started, waited for until settled, stopped."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

START_SECONDS = 120.0
# a started server idles at a few percent of a core; its start-up (workers, job runner) takes more
SETTLED_CPU_SHARE = 0.10


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _wait_until_up(server: subprocess.Popen[bytes], url: str, log: Path, deadline: float) -> None:
    while not _answers(url):
        if server.poll() is not None or time.monotonic() > deadline:
            tail = log.read_text(errors="replace").strip().splitlines()[-3:]
            raise RuntimeError(f"mlflow server did not answer: {' / '.join(tail)}")
        time.sleep(0.25)


def group_cpu_seconds(group: int) -> float:
    """CPU seconds used so far by the live processes of a process group, from Linux's /proc."""
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # the process ended meanwhile
        if int(fields[2]) == group and fields[0] != "Z":  # a zombie is not live
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def _wait_until_settled(group: int, deadline: float) -> None:
    """/health answers once one worker is up; the others and the job runner still start then."""
    before = group_cpu_seconds(group)
    while time.monotonic() < deadline:
        time.sleep(1)
        after = group_cpu_seconds(group)
        if after - before < SETTLED_CPU_SHARE:
            return
        before = after


def _stop(server: subprocess.Popen[bytes]) -> None:
    """Terminate the server's whole process group: its workers and job runner too."""
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


@contextmanager
def mlflow_server(directory: Path) -> Iterator[str]:
    """`mlflow server` on a SQLite store under directory, until the block ends; yields its URL."""
    port = free_port()
    command = [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--backend-store-uri", f"sqlite:///{directory}/mlflow.db"]
    command += ["--artifacts-destination", str(directory / "artifacts")]
    log = directory / "mlflow-server.log"
    with log.open("wb") as output:
        server = subprocess.Popen(
            command, cwd=directory, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    deadline = time.monotonic() + START_SECONDS
    try:
        _wait_until_up(server, f"http://127.0.0.1:{port}", log, deadline)
        _wait_until_settled(server.pid, deadline)
        yield f"http://127.0.0.1:{port}"
    finally:
        _stop(server)
