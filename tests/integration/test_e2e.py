"""HTTP -> queue -> worker -> database -> HTTP on a real server, worker, broker and database.

Runs once on the embedded default (SQLite file + kombu's SQLAlchemy transport) and once on
PostgreSQL + Redis.
"""

import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import torch
from sklearn.datasets import make_moons
from torch import nn

from tests.helpers import MOONS_GOLDEN, TEST_DEVICE, moons_spec
from tests.integration.stack import REPO_ROOT, Stack, all_metrics, new_user, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def reference_losses() -> list[float]:
    """The golden moons run as a hand-written loop, on the device the worker's "auto" picks."""
    x_np, y_np = make_moons(n_samples=200, noise=0.2, random_state=0)
    x = torch.tensor(x_np, dtype=torch.float32).to(TEST_DEVICE)
    y = torch.tensor(y_np, dtype=torch.int64).to(TEST_DEVICE)
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 2)).to(TEST_DEVICE)
    optimizer = torch.optim.Adam(net.parameters(), lr=0.01)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=50, gamma=0.99)
    losses = []
    for _ in range(1000):
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(net(x), y)
        loss.backward()
        optimizer.step()
        scheduler.step()
        losses.append(loss.item())
    return losses


def test_golden_moons_run_matches_hand_written_loop(
    stack: Stack, reference_losses: list[float]
) -> None:
    token = new_user(stack, "alice")
    with stack.client(token) as client:
        created = client.post("/api/v1/jobs", json={"name": "moons", "spec": MOONS_GOLDEN})
        assert created.status_code == 201, created.text
        job = wait_for(client, created.json()["id"])
        assert job["status"] == "succeeded", (job, stack.log_tail())
        assert (job["current_epoch"], job["attempt"]) == (1000, 1)
        epochs = all_metrics(client, job["id"])

    assert [item["epoch"] for item in epochs] == list(range(1, 1001))
    assert epochs[-1]["lr"] == [pytest.approx(0.01 * 0.99**20, abs=1e-12)]
    assert round(epochs[-1]["lr"][0], 6) == 0.008179
    assert [item["train_loss"] for item in epochs] == pytest.approx(reference_losses, abs=1e-6)
    assert job["final_metrics"]["train_loss"] == pytest.approx(reference_losses[-1], abs=1e-6)


def test_owner_scoping_auth_and_validation(stack: Stack) -> None:
    owner, other = new_user(stack, "owner"), new_user(stack, "other")
    with stack.client(owner) as client:
        job_id = client.post("/api/v1/jobs", json={"spec": moons_spec(epochs=2)}).json()["id"]
        bad = moons_spec()
        bad["optimizer"] = {"type": "Lion"}
        refused = client.post("/api/v1/jobs", json={"spec": bad})
        assert refused.status_code == 422
        [error] = refused.json()["detail"]
        assert error["field"] == "spec.optimizer.type"
        assert all(f"'{name}'" in error["msg"] for name in ("SGD", "Adam", "Ranger"))
        assert [j["id"] for j in client.get("/api/v1/jobs").json()["items"]] == [job_id]
        wait_for(client, job_id)
    with stack.client(other) as client:
        assert client.get(f"/api/v1/jobs/{job_id}").status_code == 404
        assert client.get(f"/api/v1/jobs/{job_id}/metrics").status_code == 404
    assert httpx.get(f"{stack.url}/api/v1/jobs/{job_id}").status_code == 401


def test_cancel_stops_a_running_job_and_keeps_its_epochs(stack: Stack) -> None:
    with stack.client(new_user(stack, "canceller")) as client:
        job_id = client.post("/api/v1/jobs", json={"spec": moons_spec(epochs=1_000_000)}).json()[
            "id"
        ]
        wait_for(client, job_id, {"running"})
        while client.get(f"/api/v1/jobs/{job_id}").json()["current_epoch"] < 1:
            pass
        assert client.post(f"/api/v1/jobs/{job_id}/cancel").status_code == 200
        job = wait_for(client, job_id, timeout=30)
        assert job["status"] == "cancelled"
        epochs = all_metrics(client, job_id)
        assert 1 <= len(epochs) == job["current_epoch"] < 1_000_000
        assert [item["epoch"] for item in epochs] == list(range(1, len(epochs) + 1))


def test_cli_creates_a_user_whose_token_works(stack: Stack) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "cli.main", "users", "create", "dave"],
        cwd=REPO_ROOT,
        env=stack.env,
        capture_output=True,
        text=True,
        check=True,
    )
    token = result.stdout.strip()
    with stack.client(token) as client:
        assert client.get("/api/v1/jobs").json() == {"items": [], "next_cursor": None}


def _api_processes(stack: Stack) -> int:
    """uvicorn worker processes (spawned children) serving this stack's data dir."""
    wanted = f"GRADQ_DATA_DIR={stack.env['GRADQ_DATA_DIR']}".encode()
    count = 0
    for proc in Path("/proc").iterdir():
        try:
            environ = (proc / "environ").read_bytes().split(b"\0")
            command = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        count += wanted in environ and b"spawn_main" in command
    return count


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="reads /proc")
def test_the_api_runs_as_many_processes_as_configured(stack: Stack) -> None:
    expected = int(stack.env.get("GRADQ_API_WORKERS", "1"))
    assert _api_processes(stack) == (expected if expected > 1 else 0)
