"""Cross-validation jobs: a running parent, one queued child per fold, the summary of the folds."""

import math
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, update

from core import cross_validation, users
from core.db import session_scope
from core.errors import JobNotCancellable
from models import Job, JobEvent, JobKind, JobStatus, User
from tests.helpers import moons_spec

FOLDS = 3


def _user(engine: Engine) -> User:
    with session_scope(engine) as session:
        user, _ = users.create(session, name=f"cv-{uuid.uuid4().hex[:8]}")
    return user


def _spec(folds: int = FOLDS) -> dict[str, Any]:
    spec = moons_spec(epochs=7)
    spec["dataset"]["split"] = {"folds": folds, "test": 0.1, "stratify": True}
    return spec


def _create(engine: Engine, folds: int = FOLDS) -> tuple[uuid.UUID, list[uuid.UUID]]:
    owner = _user(engine)
    with session_scope(engine) as session:
        parent, children = cross_validation.create(
            session, owner_id=owner.id, name="cv", spec_json=_spec(folds), priority=2
        )
        return parent.id, [child.id for child in children]


def _set(engine: Engine, job_id: uuid.UUID, status: JobStatus, **values: Any) -> None:
    """A child's status as a worker would leave it, then the hook core.jobs.finish calls."""
    with session_scope(engine) as session:
        session.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(status=status, finished_at=datetime.now(UTC), **values)
        )
        cross_validation.child_finished(session, child_id=job_id)


def _events(engine: Engine, job_id: uuid.UUID) -> list[tuple[str, dict[str, Any]]]:
    with session_scope(engine) as session:
        rows = session.query(JobEvent).filter_by(job_id=job_id).order_by(JobEvent.id).all()
        return [(row.kind, row.data) for row in rows]


def _job(engine: Engine, job_id: uuid.UUID) -> Job:
    with session_scope(engine) as session:
        job = session.get_one(Job, job_id)
        session.expunge(job)
        return job


def test_create_makes_a_running_parent_and_a_queued_child_per_fold(any_engine: Engine) -> None:
    parent_id, child_ids = _create(any_engine)
    parent = _job(any_engine, parent_id)
    assert (parent.kind, parent.status, parent.epochs) == (
        JobKind.CROSS_VALIDATION,
        JobStatus.RUNNING,
        7,
    )
    assert parent.started_at is not None
    assert parent.spec["dataset"]["split"].get("fold") is None
    assert _events(any_engine, parent_id) == [("cross_validation_started", {"folds": FOLDS})]
    children = [_job(any_engine, child_id) for child_id in child_ids]
    assert [c.fold for c in children] == [0, 1, 2]
    assert [c.spec["dataset"]["split"]["fold"] for c in children] == [0, 1, 2]
    assert [c.name for c in children] == ["cv fold 0", "cv fold 1", "cv fold 2"]
    for child in children:
        assert (child.kind, child.status, child.parent_id) == (
            JobKind.TRAIN,
            JobStatus.QUEUED,
            parent_id,
        )
        assert (child.priority, child.epochs) == (2, 7)
        assert [kind for kind, _ in _events(any_engine, child.id)] == ["queued"]


FOLD_METRICS = [
    {"val_loss": 0.5, "val_accuracy": 0.8, "epoch": 7, "note": "x", "flag": True},
    {"val_loss": 0.7, "val_accuracy": 0.9, "epoch": 7, "note": "y", "flag": False},
    {"val_loss": 0.9, "val_accuracy": 1.0, "epoch": 7, "note": "z", "flag": True},
]


def test_the_parent_succeeds_with_mean_and_population_std_once_every_fold_has(
    any_engine: Engine,
) -> None:
    parent_id, child_ids = _create(any_engine)
    for child_id, metrics in zip(child_ids[:2], FOLD_METRICS, strict=False):
        _set(any_engine, child_id, JobStatus.SUCCEEDED, final_metrics=metrics)
        assert _job(any_engine, parent_id).status == JobStatus.RUNNING
    _set(any_engine, child_ids[2], JobStatus.SUCCEEDED, final_metrics=FOLD_METRICS[2])
    parent = _job(any_engine, parent_id)
    assert parent.status == JobStatus.SUCCEEDED
    assert parent.finished_at is not None
    summary = parent.final_metrics
    assert summary is not None
    # by hand: mean 0.7, deviations -0.2, 0, 0.2 -> population variance 0.08 / 3
    assert summary["val_loss_mean"] == pytest.approx(0.7, abs=1e-12)
    assert summary["val_loss_std"] == pytest.approx(math.sqrt(0.08 / 3), abs=1e-12)
    assert summary["val_accuracy_mean"] == pytest.approx(0.9, abs=1e-12)
    assert summary["val_accuracy_std"] == pytest.approx(math.sqrt(0.02 / 3), abs=1e-12)
    assert (summary["epoch_mean"], summary["epoch_std"]) == (7.0, 0.0)
    assert not {"note_mean", "flag_mean"} & set(summary)
    assert summary["folds"] == FOLDS
    assert summary["fold_metrics"] == FOLD_METRICS
    assert _events(any_engine, parent_id)[-1] == ("succeeded", {"reason": "folds_finished"})


def test_a_failed_fold_fails_the_parent_and_is_named(any_engine: Engine) -> None:
    parent_id, child_ids = _create(any_engine)
    _set(any_engine, child_ids[0], JobStatus.SUCCEEDED, final_metrics=FOLD_METRICS[0])
    _set(any_engine, child_ids[1], JobStatus.FAILED, error="nan_loss: loss is nan")
    assert _job(any_engine, parent_id).status == JobStatus.RUNNING
    _set(any_engine, child_ids[2], JobStatus.CANCELLED, final_metrics=FOLD_METRICS[2])
    parent = _job(any_engine, parent_id)
    assert parent.status == JobStatus.FAILED
    assert parent.error == "folds 1 failed (fold 1: nan_loss: loss is nan)"
    assert parent.final_metrics is not None
    assert parent.final_metrics["val_loss_mean"] == 0.5  # the one succeeded fold
    assert parent.final_metrics["val_loss_std"] == 0.0
    assert parent.final_metrics["fold_metrics"] == [FOLD_METRICS[0], None, FOLD_METRICS[2]]
    assert _events(any_engine, parent_id)[-1][0] == "failed"


def test_cancel_stops_every_unfinished_fold_and_the_parent_ends_with_the_last(
    any_engine: Engine,
) -> None:
    parent_id, child_ids = _create(any_engine)
    _set(any_engine, child_ids[0], JobStatus.SUCCEEDED, final_metrics=FOLD_METRICS[0])
    with session_scope(any_engine) as session:
        session.execute(update(Job).where(Job.id == child_ids[1]).values(status="running"))
    with session_scope(any_engine) as session:
        parent = cross_validation.cancel(session, parent=session.get_one(Job, parent_id))
        assert (parent.status, parent.cancel_requested) == (JobStatus.RUNNING, True)
    running, queued = _job(any_engine, child_ids[1]), _job(any_engine, child_ids[2])
    assert (running.status, running.cancel_requested) == (JobStatus.RUNNING, True)
    assert queued.status == JobStatus.CANCELLED
    assert _job(any_engine, child_ids[0]).status == JobStatus.SUCCEEDED
    _set(any_engine, child_ids[1], JobStatus.CANCELLED, final_metrics=FOLD_METRICS[1])
    parent = _job(any_engine, parent_id)
    assert (parent.status, parent.error) == (JobStatus.CANCELLED, None)
    assert parent.final_metrics is not None
    assert parent.final_metrics["val_loss_mean"] == 0.5
    with session_scope(any_engine) as session, pytest.raises(JobNotCancellable):
        cross_validation.cancel(session, parent=session.get_one(Job, parent_id))


def test_cancelling_only_queued_folds_ends_the_parent_at_once(any_engine: Engine) -> None:
    parent_id, child_ids = _create(any_engine, folds=2)
    with session_scope(any_engine) as session:
        parent = cross_validation.cancel(session, parent=session.get_one(Job, parent_id))
        assert parent.status == JobStatus.CANCELLED
    assert all(_job(any_engine, c).status == JobStatus.CANCELLED for c in child_ids)
    assert [kind for kind, _ in _events(any_engine, parent_id)] == [
        "cross_validation_started",
        "cancel_requested",
        "cancelled",
    ]


def test_two_folds_finishing_at_once_settle_the_parent_exactly_once(any_engine: Engine) -> None:
    """The first finisher holds the parent's lock until it commits; the second then sees it."""
    parent_id, child_ids = _create(any_engine, folds=2)
    first_checked = threading.Event()
    errors: list[BaseException] = []

    def first() -> None:
        try:
            with session_scope(any_engine) as session:
                session.execute(
                    update(Job).where(Job.id == child_ids[0]).values(status="succeeded")
                )
                cross_validation.child_finished(session, child_id=child_ids[0])
                first_checked.set()
                time.sleep(0.5)  # the other fold finishes meanwhile
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)
            first_checked.set()

    thread = threading.Thread(target=first)
    thread.start()
    assert first_checked.wait(10)
    _set(any_engine, child_ids[1], JobStatus.SUCCEEDED, final_metrics=FOLD_METRICS[1])
    thread.join(10)
    assert not errors
    assert _job(any_engine, parent_id).status == JobStatus.SUCCEEDED
    finals = [kind for kind, _ in _events(any_engine, parent_id) if kind == "succeeded"]
    assert finals == ["succeeded"]


def test_a_job_without_parent_is_left_alone(any_engine: Engine) -> None:
    _, child_ids = _create(any_engine, folds=2)
    with session_scope(any_engine) as session:
        session.execute(update(Job).where(Job.id == child_ids[0]).values(parent_id=None))
    _set(any_engine, child_ids[0], JobStatus.SUCCEEDED)
    assert _job(any_engine, child_ids[0]).status == JobStatus.SUCCEEDED
