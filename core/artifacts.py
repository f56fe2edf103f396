"""What a finished run leaves in DATA_DIR/artifacts/<job id>/: weights, network card, summary."""

import hashlib
import json
import os
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any, Literal

from core.errors import GradqError
from core.settings import get_settings

Which = Literal["final", "best"]
WEIGHTS: dict[Which, str] = {"final": "final.safetensors", "best": "best.safetensors"}
NETWORK = "network.json"
SUMMARY = "summary.json"
POINTS = "points.safetensors"
NAMES = frozenset({*WEIGHTS.values(), NETWORK, SUMMARY, POINTS})


class ArtifactNotFound(GradqError):
    status_code = 404


def job_dir(job_id: uuid.UUID) -> Path:
    return get_settings().artifacts_dir / str(job_id)


def _path(job_id: uuid.UUID, name: str) -> Path:
    if name not in NAMES:
        raise ValueError(f"unknown artifact {name!r}")
    return job_dir(job_id) / name


def write_bytes(job_id: uuid.UUID, name: str, data: bytes) -> str:
    """Write atomically (a reader sees the old file or the new one, never half); the sha256."""
    target = _path(job_id, name)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{name}.")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return hashlib.sha256(data).hexdigest()


def write_json(job_id: uuid.UUID, name: str, value: Any) -> None:
    write_bytes(job_id, name, json.dumps(value, indent=1, allow_nan=False).encode())


def checkpoint_path(job_id: uuid.UUID, epoch: int) -> Path:
    """Where the checkpoint taken after `epoch` lives; the job row names the one to resume."""
    return job_dir(job_id) / "checkpoints" / f"epoch-{epoch:09d}.pt"


def prune_checkpoints(job_id: uuid.UUID, *, keep: int) -> None:
    """Delete every checkpoint but the one after epoch `keep`."""
    for found in (job_dir(job_id) / "checkpoints").glob("epoch-*.pt"):
        if found != checkpoint_path(job_id, keep):
            found.unlink(missing_ok=True)


def remove_checkpoints(job_id: uuid.UUID) -> None:
    """Delete the checkpoints of a job that has ended: nothing will resume it."""
    shutil.rmtree(job_dir(job_id) / "checkpoints", ignore_errors=True)


def path(job_id: uuid.UUID, name: str, missing: str) -> Path:
    """The artifact's file; ArtifactNotFound with the reason `missing` when there is none."""
    found = _path(job_id, name)
    if not found.is_file():
        raise ArtifactNotFound(missing)
    return found


def read_bytes(job_id: uuid.UUID, name: str, missing: str) -> bytes:
    return path(job_id, name, missing).read_bytes()


def read_json(job_id: uuid.UUID, name: str, missing: str) -> Any:
    return json.loads(read_bytes(job_id, name, missing))


def remove(job_id: uuid.UUID) -> None:
    """Delete everything the job left (a rerun starts clean)."""
    shutil.rmtree(job_dir(job_id), ignore_errors=True)
