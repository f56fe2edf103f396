"""`gradq serve`: migrate, make sure an admin token exists, run the API and one worker."""

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence

from core.bootstrap import ensure_admin_token
from core.db import session_scope
from core.migrate import upgrade_to_head
from core.settings import Settings

API_COMMAND = [
    sys.executable,
    "-m",
    "uvicorn",
    "api.main:create_app",
    "--factory",
    "--log-level",
    "warning",
]
WORKER_COMMAND = [
    sys.executable,
    "-m",
    "celery",
    "-A",
    "worker.celery_app",
    "worker",
    "--pool=solo",
    "--concurrency=1",
    "--loglevel=INFO",
]


def prepare(settings: Settings) -> str:
    """Migrate the database and return the admin token (created on first start)."""
    settings.DATA_DIR.mkdir(parents=True, exist_ok=True)
    upgrade_to_head(settings.database_url)
    with session_scope() as session:
        return ensure_admin_token(session, path=settings.admin_token_path)


def api_command(settings: Settings) -> list[str]:
    return [*API_COMMAND, "--host", settings.HOST, "--port", str(settings.PORT)]


def worker_command(settings: Settings) -> list[str]:
    return [*WORKER_COMMAND, "-Q", settings.TRAINING_QUEUE]


def _stop(processes: Sequence[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 10
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()


def _wait_until_live(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(f"{url}/livez", timeout=1):
                return
        except OSError:
            time.sleep(0.2)


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def serve(settings: Settings) -> int:
    """Run the API and a worker until Ctrl-C (or SIGTERM) or until either exits."""
    # a service manager stops with SIGTERM: stop the children the same way as on Ctrl-C
    signal.signal(signal.SIGTERM, _interrupt)
    token = prepare(settings)
    env = {**os.environ, "GRADQ_DATA_DIR": str(settings.DATA_DIR.resolve())}
    processes = [
        subprocess.Popen(api_command(settings), env=env),
        subprocess.Popen(worker_command(settings), env=env),
    ]
    url = f"http://{settings.HOST}:{settings.PORT}"
    _wait_until_live(url, processes[0])
    print(f"gradq API:   {url}  (docs at {url}/docs)")
    print(f"admin token: {token}  (also in {settings.admin_token_path})")
    print("Ctrl-C stops the API and the worker.", flush=True)
    try:
        while all(process.poll() is None for process in processes):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        _stop(processes)
    return max((process.returncode or 0) for process in processes)
