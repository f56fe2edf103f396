"""The `gradq` command end to end, as a user runs it, against a running server and worker.

Submit an example (the 100-epoch warm-up one) and follow it to success, read its metrics as CSV,
cancel another job; the exit statuses are checked. Runs on the embedded default and on
PostgreSQL + Redis.
"""

import csv
import io
import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import yaml
from safetensors.torch import load_file

from cli.output import ExitCode
from tests.helpers import moons_spec
from tests.integration.stack import REPO_ROOT, Stack, new_user, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _gradq(stack: Stack, token: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in stack.env.items() if not k.startswith("GRADQ_")}
    env |= {
        "GRADQ_URL": stack.url,
        "GRADQ_TOKEN": token,
        "GRADQ_CONFIG": str(REPO_ROOT / "no-such-gradq-config.toml"),
    }
    command = [sys.executable, "-m", "cli.main", *args]
    return subprocess.run(
        command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=180
    )


def test_submit_follow_metrics_and_cancel(stack: Stack, tmp_path: Path) -> None:
    token = new_user(stack, f"cli-{uuid.uuid4().hex[:6]}")

    submitted = _gradq(stack, token, "submit", "examples/warmup-cosine.yaml")
    assert submitted.returncode == ExitCode.OK, (submitted.stderr, stack.log_tail())
    assert "succeeded after 100 epochs" in submitted.stdout
    job_id = submitted.stderr.split("submitted job ")[1].split()[0]

    exported = _gradq(stack, token, "metrics", job_id, "--csv")
    assert exported.returncode == ExitCode.OK, exported.stderr
    rows = list(csv.DictReader(io.StringIO(exported.stdout)))
    assert [int(row["epoch"]) for row in rows] == list(range(1, 101))
    lrs = [float(row["lr/0"]) for row in rows]
    assert lrs[:5] == sorted(lrs[:5])  # warm-up
    assert lrs[4:] == sorted(lrs[4:], reverse=True)  # then cosine annealing
    assert lrs[-1] == pytest.approx(0.0, abs=1e-9)

    long_spec = tmp_path / "long.yaml"
    long_spec.write_text(yaml.safe_dump(moons_spec(epochs=500_000)))
    queued = _gradq(stack, token, "submit", str(long_spec), "--no-wait")
    assert queued.returncode == ExitCode.OK, queued.stderr
    long_id = queued.stdout.strip()
    with stack.client(token) as client:
        wait_for(client, long_id, done={"running"}, timeout=60)
    cancelled = _gradq(stack, token, "cancel", long_id)
    assert cancelled.returncode == ExitCode.OK, cancelled.stderr
    watched = _gradq(stack, token, "watch", long_id, "--json")
    assert watched.returncode == ExitCode.JOB_CANCELLED, watched.stderr
    final = json.loads(watched.stdout)
    assert (final["status"], final["stop_reason"]) == ("cancelled", "cancelled")
    assert 0 < final["current_epoch"] < 500_000


def test_refusals_exit_1_with_field_and_reason(stack: Stack, tmp_path: Path) -> None:
    token = new_user(stack, f"cli-{uuid.uuid4().hex[:6]}")
    spec = moons_spec()
    spec["optimizer"]["type"] = "Adamm"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(spec))
    refused = _gradq(stack, token, "submit", str(bad))
    assert refused.returncode == ExitCode.ERROR
    assert "spec.optimizer.type: " in refused.stderr
    assert "Traceback" not in refused.stderr
    unknown = _gradq(stack, f"gq_{uuid.uuid4().hex}", "list")
    assert unknown.returncode == ExitCode.ERROR
    assert "unknown or revoked token" in unknown.stderr


def test_weights_of_a_finished_job_load_into_safetensors(stack: Stack, tmp_path: Path) -> None:
    token = new_user(stack, f"cli-{uuid.uuid4().hex[:6]}")
    spec = tmp_path / "short.yaml"
    spec.write_text(yaml.safe_dump(moons_spec(epochs=20)))
    submitted = _gradq(stack, token, "submit", str(spec), "--json")
    assert submitted.returncode == ExitCode.OK, submitted.stderr
    job_id = json.loads(submitted.stdout)["id"]
    target = tmp_path / "model.safetensors"
    downloaded = _gradq(stack, token, "weights", job_id, "-o", str(target))
    if "has no route" in downloaded.stderr:
        pytest.xfail("the server has no weights route yet")
    assert downloaded.returncode == ExitCode.OK, downloaded.stderr
    tensors = load_file(target)
    assert {tuple(t.shape) for t in tensors.values()} == {(3, 2), (3,), (2, 3), (2,)}
