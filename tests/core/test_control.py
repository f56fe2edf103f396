"""Pause, resume and clone in the database, on SQLite and PostgreSQL."""

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, select

from core import control, jobs, scheduling, users
from core.db import session_scope
from core.errors import JobNotPausable, JobNotResumable, SpecRejected
from models import Job, JobEvent, JobStatus, User
from tests.helpers import moons_spec


def _user(engine: Engine) -> User:
    with session_scope(engine) as session:
        user, _ = users.create(session, name=f"c-{uuid.uuid4().hex[:8]}")
    return user


def _job(engine: Engine, owner: User, **columns: object) -> uuid.UUID:
    with session_scope(engine) as session:
        job = jobs.create(
            session, owner_id=owner.id, name="base", spec=moons_spec(epochs=7), epochs=7
        )
        for key, value in columns.items():
            setattr(job, key, value)
        return job.id


def _events(engine: Engine, job_id: uuid.UUID) -> list[tuple[str, dict[str, object]]]:
    with session_scope(engine) as session:
        rows = session.scalars(select(JobEvent).where(JobEvent.job_id == job_id).order_by("id"))
        return [(event.kind, event.data) for event in rows]


def test_pausing_a_queued_job_takes_it_out_and_resuming_requeues_it(any_engine: Engine) -> None:
    job_id = _job(any_engine, _user(any_engine))
    with session_scope(any_engine) as session:
        job = session.get_one(Job, job_id)
        queued_at = job.queued_at
        assert control.request_pause(session, job=job).status == JobStatus.PAUSED
    with session_scope(any_engine) as session:
        assert scheduling.position_of(session, job_id=job_id, now=datetime.now(UTC)) is None
        job = control.resume(session, job=session.get_one(Job, job_id))
        assert (job.status, job.pause_requested) == (JobStatus.QUEUED, False)
        assert job.queued_at is not None
        assert queued_at is not None
        assert job.queued_at > queued_at
    assert [kind for kind, _ in _events(any_engine, job_id)] == ["queued", "paused", "resumed"]


def test_pausing_a_running_job_asks_it_to_stop(any_engine: Engine) -> None:
    job_id = _job(any_engine, _user(any_engine), status=JobStatus.RUNNING)
    for _ in range(2):  # asking twice records it once
        with session_scope(any_engine) as session:
            job = control.request_pause(session, job=session.get_one(Job, job_id))
            assert (job.status, job.pause_requested) == (JobStatus.RUNNING, True)
    kinds = [kind for kind, _ in _events(any_engine, job_id)]
    assert kinds == ["queued", "pause_requested"]
    with session_scope(any_engine) as session, pytest.raises(JobNotResumable):
        control.resume(session, job=session.get_one(Job, job_id))


@pytest.mark.parametrize("status", [JobStatus.PAUSED, JobStatus.SUCCEEDED, JobStatus.CANCELLED])
def test_only_queued_or_running_jobs_pause(any_engine: Engine, status: JobStatus) -> None:
    job_id = _job(any_engine, _user(any_engine), status=status)
    with session_scope(any_engine) as session, pytest.raises(JobNotPausable, match=status.value):
        control.request_pause(session, job=session.get_one(Job, job_id))


def test_merge_is_deep_and_a_new_type_replaces_the_section() -> None:
    base = {"optimizer": {"type": "Adam", "lr": 0.01, "betas": [0.9, 0.999]}, "x": 1}
    assert control.merge(base, {"optimizer": {"lr": 0.1}}) == {
        "optimizer": {"type": "Adam", "lr": 0.1, "betas": [0.9, 0.999]},
        "x": 1,
    }
    assert control.merge(base, {"optimizer": {"type": "SGD", "lr": 0.5}, "x": {"y": 2}}) == {
        "optimizer": {"type": "SGD", "lr": 0.5},
        "x": {"y": 2},
    }
    assert base["optimizer"] == {"type": "Adam", "lr": 0.01, "betas": [0.9, 0.999]}


def test_clone_queues_a_new_job_with_the_overrides(any_engine: Engine) -> None:
    owner = _user(any_engine)
    job_id = _job(any_engine, owner, priority=7, max_attempts=2, max_runtime_s=600)
    with session_scope(any_engine) as session:
        job = session.get_one(Job, job_id)
        overrides = {"optimizer": {"lr": 0.05}, "training": {"epochs": 3}}
        spec = control.cloned_spec(session, job=job, user=owner, overrides=overrides)
        new = control.clone(session, job=job, user=owner, spec=spec, max_runtime_s=60)
        new_id = new.id
        assert (new.status, new.epochs, new.name) == (JobStatus.QUEUED, 3, "base")
        assert (new.priority, new.max_attempts, new.max_runtime_s) == (7, 2, 60)
        assert new.spec["optimizer"]["lr"] == 0.05
        assert new.spec["optimizer"]["type"] == "Adam"
        assert job.spec["optimizer"]["lr"] == 0.01
    assert _events(any_engine, new_id) == [
        ("queued", {}),
        ("cloned_from", {"job_id": str(job_id)}),
    ]


def test_a_bad_override_names_the_field(any_engine: Engine) -> None:
    owner = _user(any_engine)
    job_id = _job(any_engine, owner)
    with session_scope(any_engine) as session:
        job = session.get_one(Job, job_id)
        with pytest.raises(SpecRejected) as rejected:
            control.cloned_spec(session, job=job, user=owner, overrides={"optimizer": {"lr": -1}})
    assert isinstance(rejected.value.detail, list)
    assert [error["field"] for error in rejected.value.detail] == ["spec.optimizer.lr"]
