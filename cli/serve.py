"""`gradq serve`: migrate, make sure an admin token exists, run the API and the workers."""

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence

from cli.workers import visible_gpus, worker_launches
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


def prepare(settings: Settings) -> str:
    """Migrate the database and return the admin token (created on first start)."""
    settings.DATA_DIR.mkdir(parents=True, exist_ok=True)
    upgrade_to_head(settings.database_url)
    with session_scope() as session:
        return ensure_admin_token(session, path=settings.admin_token_path)


def api_command(settings: Settings) -> list[str]:
    command = [*API_COMMAND, "--host", settings.HOST, "--port", str(settings.PORT)]
    return command + (["--workers", str(settings.API_WORKERS)] if settings.API_WORKERS > 1 else [])


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


def _supervise(processes: Sequence[subprocess.Popen[bytes]]) -> int:
    """Wait until Ctrl-C (or SIGTERM) or until any process exits; stop them all; the status."""
    try:
        while all(process.poll() is None for process in processes):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        _stop(processes)
    return max((process.returncode or 0) for process in processes)


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def serve(settings: Settings, gpus: str = "auto") -> int:
    """Run the API and the workers (one per GPU, or one) until Ctrl-C, SIGTERM or either exits."""
    # a service manager stops with SIGTERM: stop the children the same way as on Ctrl-C
    signal.signal(signal.SIGTERM, _interrupt)
    token = prepare(settings)
    env = {**os.environ, "GRADQ_DATA_DIR": str(settings.DATA_DIR.resolve())}
    launches = worker_launches(settings, visible_gpus(gpus), env)
    processes = [
        subprocess.Popen(api_command(settings), env=env),
        *(subprocess.Popen(launch.command, env=launch.env) for launch in launches),
    ]
    url = f"http://{settings.HOST}:{settings.PORT}"
    _wait_until_live(url, processes[0])
    print(f"gradq API:   {url}  (docs at {url}/docs)")
    print(f"admin token: {token}  (also in {settings.admin_token_path})")
    names = ", ".join(launch.command[-1] for launch in launches)
    print(f"workers:     {len(launches)} ({names})")
    print("Ctrl-C stops the API and the workers.", flush=True)
    return _supervise(processes)


def run_workers(settings: Settings, gpus: str = "auto") -> int:
    """Run only the workers (a GPU server joining a team's API), until Ctrl-C or SIGTERM."""
    signal.signal(signal.SIGTERM, _interrupt)
    upgrade_to_head(settings.database_url)
    launches = worker_launches(settings, visible_gpus(gpus))
    processes = [subprocess.Popen(launch.command, env=launch.env) for launch in launches]
    names = ", ".join(launch.command[-1] for launch in launches)
    print(f"workers: {len(launches)} ({names})", flush=True)
    return _supervise(processes)
