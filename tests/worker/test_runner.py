"""run_job on the suite database: success, duplicates, divergence, cancellation."""

import threading
import time
import uuid
from typing import Any

import torch
from safetensors.torch import load as load_tensors
from sqlalchemy import Engine, func, select

from core import artifacts, jobs, metrics, users
from core.db import session_scope
from models import Job, JobMetric, JobStatus
from tests.helpers import moons_spec
from worker.runner import failure_for, run_job


def _queued(engine: Engine, spec: dict[str, Any]) -> uuid.UUID:
    with session_scope(engine) as session:
        user, _ = users.create(session, name=f"r-{uuid.uuid4().hex[:8]}")
        job = jobs.create(
            session, owner_id=user.id, name=None, spec=spec, epochs=spec["training"]["epochs"]
        )
        return job.id


def _job(engine: Engine, job_id: uuid.UUID) -> Job:
    with session_scope(engine) as session:
        return session.get_one(Job, job_id)


def test_run_writes_every_epoch_and_succeeds(migrated_database: Engine) -> None:
    job_id = _queued(migrated_database, moons_spec(epochs=30))
    run_job(job_id, migrated_database)
    job = _job(migrated_database, job_id)
    assert (job.status, job.current_epoch, job.attempt) == (JobStatus.SUCCEEDED, 30, 1)
    assert job.final_metrics is not None
    assert job.final_metrics["lr/0"] == 0.01
    assert job.stop_reason == "completed"
    assert job.best_metrics is not None
    assert job.best_epoch is not None
    assert job.best_metrics["train_loss"] == min(
        row["train_loss"] for row in _rows(migrated_database, job_id)
    )
    assert [row["epoch"] for row in _rows(migrated_database, job_id)] == list(range(1, 31))
    assert _event_kinds(migrated_database, job_id) == [
        "queued",
        "started",
        *["epoch_milestone"] * 3,
        "succeeded",
    ]
    with session_scope(migrated_database) as session:
        milestones = [
            (event.epoch, event.data["percent"])
            for event in metrics.read_events(session, job_id=job_id)
            if event.kind == "epoch_milestone"
        ]
    assert milestones == [(8, 25), (15, 50), (23, 75)]


def _rows(engine: Engine, job_id: uuid.UUID) -> list[dict[str, Any]]:
    with session_scope(engine) as session:
        return metrics.read_epochs(session, job_id=job_id)


def _event_kinds(engine: Engine, job_id: uuid.UUID) -> list[str]:
    with session_scope(engine) as session:
        return [event.kind for event in metrics.read_events(session, job_id=job_id)]


def test_duplicate_message_does_nothing(migrated_database: Engine) -> None:
    job_id = _queued(migrated_database, moons_spec(epochs=3))
    run_job(job_id, migrated_database)
    run_job(job_id, migrated_database)
    assert _job(migrated_database, job_id).attempt == 1
    with session_scope(migrated_database) as session:
        count = session.scalar(select(func.count()).where(JobMetric.job_id == job_id))
    assert count == 3 * 6


def test_diverging_run_fails_with_a_reason_and_keeps_earlier_epochs(
    migrated_database: Engine,
) -> None:
    spec = {
        "dataset": {"type": "regression", "n_samples": 20, "n_features": 3, "noise": 1.0},
        "model": {"layers": [{"type": "Linear", "out_features": 1}]},
        "loss": {"type": "MSELoss"},
        "optimizer": {"type": "SGD", "lr": 1e6},
        "training": {"epochs": 200},
    }
    job_id = _queued(migrated_database, spec)
    run_job(job_id, migrated_database)
    job = _job(migrated_database, job_id)
    assert job.status == JobStatus.FAILED
    assert job.error is not None
    assert job.error.startswith("non_finite_loss: train loss became")
    assert job.stop_reason == "non_finite_loss"
    assert 0 < job.current_epoch < 200
    with session_scope(migrated_database) as session:
        failed = metrics.read_events(session, job_id=job_id)[-1]
        assert (failed.kind, failed.epoch) == ("failed", job.current_epoch + 1)
        assert failed.data["reason"] == "non_finite_loss"


def test_cancel_flag_stops_the_run(migrated_database: Engine) -> None:
    job_id = _queued(migrated_database, moons_spec(epochs=1_000_000))
    with session_scope(migrated_database) as session:
        session.get_one(Job, job_id).cancel_requested = True
    run_job(job_id, migrated_database)
    job = _job(migrated_database, job_id)
    assert job.status == JobStatus.CANCELLED
    assert job.stop_reason == "cancelled"
    assert 1 <= job.current_epoch < 1_000_000


def test_early_stopping_is_an_event_and_a_stop_reason(migrated_database: Engine) -> None:
    spec = moons_spec(epochs=500)
    spec["optimizer"] = {"type": "SGD", "lr": 1e-9}
    spec["training"]["early_stopping"] = {"patience": 2, "min_delta": 0.01}
    job_id = _queued(migrated_database, spec)
    run_job(job_id, migrated_database)
    job = _job(migrated_database, job_id)
    assert (job.status, job.stop_reason, job.current_epoch) == (
        JobStatus.SUCCEEDED,
        "early_stopped",
        3,
    )
    assert _event_kinds(migrated_database, job_id) == [
        "queued",
        "started",
        "early_stopped",
        "succeeded",
    ]  # 3 epochs of 500: before the first milestone


def test_a_finished_run_leaves_weights_card_summary_and_points(migrated_database: Engine) -> None:
    job_id = _queued(migrated_database, moons_spec(epochs=5))
    run_job(job_id, migrated_database)
    folder = artifacts.job_dir(job_id)
    assert sorted(path.name for path in folder.iterdir()) == [
        "best.safetensors",
        "final.safetensors",
        "network.json",
        "points.safetensors",
        "summary.json",
    ]
    card = artifacts.read_json(job_id, artifacts.NETWORK, "")
    assert card["weights"]["final"]["epoch"] == 5
    assert card["weights"]["best"]["epoch"] == _job(migrated_database, job_id).best_epoch
    points = load_tensors((folder / "points.safetensors").read_bytes())
    assert (tuple(points["x"].shape), tuple(points["labels"].shape)) == ((200, 2), (200,))


def test_a_failed_run_leaves_no_weights(migrated_database: Engine) -> None:
    spec = {
        "dataset": {"type": "regression", "n_samples": 20, "n_features": 3, "noise": 1.0},
        "model": {"layers": [{"type": "Linear", "out_features": 1}]},
        "loss": {"type": "MSELoss"},
        "optimizer": {"type": "SGD", "lr": 1e6},
        "training": {"epochs": 200},
    }
    job_id = _queued(migrated_database, spec)
    run_job(job_id, migrated_database)
    assert _job(migrated_database, job_id).status == JobStatus.FAILED
    assert not artifacts.job_dir(job_id).exists()


def test_cuda_out_of_memory_fails_the_job_without_a_retry() -> None:
    outcome = failure_for(
        torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2 GiB")
    )
    assert (outcome.status, outcome.stop_reason) == (JobStatus.FAILED, "cuda_oom")
    assert outcome.error is not None
    assert "Tried to allocate" in outcome.error


def test_max_runtime_cancels_the_run_and_keeps_its_results(migrated_database: Engine) -> None:
    job_id = _queued(migrated_database, moons_spec(epochs=1_000_000))
    with session_scope(migrated_database) as session:
        session.get_one(Job, job_id).max_runtime_s = 1
    run_job(job_id, migrated_database)
    job = _job(migrated_database, job_id)
    assert (job.status, job.stop_reason) == (JobStatus.CANCELLED, "max_runtime_exceeded")
    assert 0 < job.current_epoch < 1_000_000
    assert job.run_seconds >= 1
    assert (artifacts.job_dir(job_id) / "final.safetensors").is_file()


def _metric_series(engine: Engine, job_id: uuid.UUID) -> list[tuple[int, float, float]]:
    return [(r["epoch"], r["train_loss"], r["lr/0"]) for r in _rows(engine, job_id)]


def test_pause_checkpoints_and_a_resumed_run_continues_from_it(migrated_database: Engine) -> None:
    spec = moons_spec(epochs=20_000)
    job_id = _queued(migrated_database, spec)
    worker = threading.Thread(target=run_job, args=(job_id, migrated_database))
    worker.start()
    deadline = time.monotonic() + 60
    while _job(migrated_database, job_id).current_epoch == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    with session_scope(migrated_database) as session:
        session.get_one(Job, job_id).pause_requested = True
    worker.join()
    paused = _job(migrated_database, job_id)
    assert paused.status == JobStatus.PAUSED
    assert 0 < paused.checkpoint_epoch == paused.current_epoch < 20_000
    assert artifacts.checkpoint_path(job_id, paused.checkpoint_epoch).is_file()
    with session_scope(migrated_database) as session:
        session.get_one(Job, job_id).status = JobStatus.QUEUED
    run_job(job_id, migrated_database)
    resumed = _job(migrated_database, job_id)
    assert (resumed.status, resumed.attempt) == (JobStatus.SUCCEEDED, 2)
    whole_id = _queued(migrated_database, spec)
    run_job(whole_id, migrated_database)
    assert _metric_series(migrated_database, job_id) == _metric_series(migrated_database, whole_id)
    assert not list((artifacts.job_dir(job_id) / "checkpoints").glob("*.pt"))
