"""Worker processes: one per GPU, each seeing only its own device, or one on a CPU-only host.

The process that starts them never touches CUDA; each worker is a fresh process (not a fork)
running Celery's solo pool, so CUDA is initialised once, in the process that trains.
"""

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass

from core.settings import Settings

CELERY_WORKER = [
    sys.executable,
    "-m",
    "celery",
    "-A",
    "worker.celery_app",
    "worker",
    "--pool=solo",
    "--concurrency=1",
    # jobs are cancelled through the database, never by Celery's revoke: the second a starting
    # worker spends syncing revokes with its neighbours (mingle), and the chatter between
    # running workers (gossip), buy nothing
    "--without-mingle",
    "--without-gossip",
    "--loglevel=INFO",
]


@dataclass(frozen=True)
class WorkerLaunch:
    """The command line and environment of one worker process."""

    command: list[str]
    env: dict[str, str]


def visible_gpus(requested: str = "auto") -> list[str]:
    """GPU ids to run a worker on: "none", a comma-separated list, or "auto".

    "auto" takes CUDA_VISIBLE_DEVICES when set, else asks nvidia-smi (no CUDA in this process).
    """
    if requested == "none":
        return []
    if requested != "auto":
        return [gpu.strip() for gpu in requested.split(",") if gpu.strip()]
    declared = os.environ.get("CUDA_VISIBLE_DEVICES")
    if declared is not None:
        return [gpu.strip() for gpu in declared.split(",") if gpu.strip() and gpu.strip() != "-1"]
    nvidia_smi = shutil.which("nvidia-smi")
    if nvidia_smi is None:
        return []
    try:
        listed = subprocess.run(
            [nvidia_smi, "--query-gpu=index", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return []
    return [line.strip() for line in listed.stdout.splitlines() if line.strip()]


def worker_launches(
    settings: Settings, gpus: list[str], env: dict[str, str] | None = None
) -> list[WorkerLaunch]:
    """One worker per GPU with CUDA_VISIBLE_DEVICES set to it; one CPU worker without GPUs."""
    base = dict(env if env is not None else os.environ)
    queue = ["-Q", settings.TRAINING_QUEUE]
    if not gpus:
        return [WorkerLaunch([*CELERY_WORKER, *queue, "-n", "cpu@%h"], base)]
    return [
        WorkerLaunch(
            [*CELERY_WORKER, *queue, "-n", f"gpu{gpu}@%h"],
            base | {"CUDA_VISIBLE_DEVICES": gpu},
        )
        for gpu in gpus
    ]
