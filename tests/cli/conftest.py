"""A real gradq API on a local port (uvicorn in a thread, on the suite's database), and the CLI."""

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner, Result

from cli import jobs as cli_jobs
from cli import metrics as cli_metrics
from cli.main import app
from core import jobs, users
from core.db import get_engine, session_factory, session_scope
from core.jobs import Outcome
from models import Job, JobStatus
from tests.api.live_server import live_server
from worker.db_sink import DbMetricSink


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    with live_server() as url:
        yield url


@dataclass(frozen=True)
class User:
    name: str
    token: str


@pytest.fixture
def user() -> User:
    name = f"cli-{uuid.uuid4().hex[:8]}"
    with session_factory()() as session:
        _, token = users.create(session, name=name)
        session.commit()
    return User(name, token)


Invoke = Callable[..., Result]


@pytest.fixture
def gradq(monkeypatch: pytest.MonkeyPatch, server_url: str, user: User, tmp_path: Path) -> Invoke:
    """Run `gradq ARGS...` in this process against the test server, as `user`, with no config
    file of the host's; the Result has exit_code, stdout and stderr."""
    monkeypatch.setenv("GRADQ_URL", server_url)
    monkeypatch.setenv("GRADQ_TOKEN", user.token)
    monkeypatch.setenv("GRADQ_CONFIG", str(tmp_path / "no-config.toml"))
    monkeypatch.setattr(cli_jobs, "POLL_SECONDS", 0.05)
    monkeypatch.setattr(cli_metrics, "POLL_SECONDS", 0.05)
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None) -> Result:
        return runner.invoke(app, list(args), input=input, catch_exceptions=False)

    return invoke


def run_job(
    job_id: str,
    *,
    epochs: int = 3,
    status: JobStatus = JobStatus.SUCCEEDED,
    delay: float = 0.0,
    error: str | None = None,
) -> None:
    """Do what a worker does (claim, epochs through its metric sink, finish) without training."""
    engine, key = get_engine(), uuid.UUID(job_id)
    with session_scope(engine) as session:
        attempt = jobs.claim(session, job_id=key, worker="test-worker", lease_seconds=60)
        assert attempt is not None
    sink = DbMetricSink(key, engine=engine, flush_seconds=0.0, attempt=attempt, lease_seconds=60)
    for epoch in range(1, epochs + 1):
        values = {"train_loss": 1.0 / epoch, "train_accuracy": epoch / epochs, "lr/0": 0.01}
        sink.log_epoch(epoch, values, step=epoch)
        time.sleep(delay)
    sink.flush()
    final = {"train_loss": 1.0 / epochs, "train_accuracy": 1.0, "lr/0": 0.01}
    reason = {JobStatus.SUCCEEDED: "completed", JobStatus.CANCELLED: "cancelled"}.get(
        status, "error"
    )
    outcome = Outcome(
        status=status, stop_reason=reason, epoch=epochs, final_metrics=final, error=error
    )
    with session_scope(engine) as session:
        jobs.finish(session, job_id=key, attempt=attempt, outcome=outcome)


def run_when_submitted(name: str, **kwargs: object) -> threading.Thread:
    """A worker thread that runs the job named `name` as soon as it is queued."""

    def work() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with session_factory()() as session:
                job = session.scalar(
                    select(Job).where(Job.name == name, Job.status == JobStatus.QUEUED)
                )
            if job is not None:
                run_job(str(job.id), **kwargs)  # type: ignore[arg-type]
                return
            time.sleep(0.02)

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return thread
