"""DbMetricSink: buffered epochs survive a failed flush and are written once."""

import uuid

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import OperationalError

from core import jobs, metrics, users
from core.db import session_scope
from models import Job, JobMetric
from tests.helpers import moons_spec
from worker.db_sink import DbMetricSink


def _job(engine: Engine) -> uuid.UUID:
    with session_scope(engine) as session:
        user, _ = users.create(session, name=f"s-{uuid.uuid4().hex[:8]}")
        return jobs.create(session, owner_id=user.id, name=None, spec=moons_spec(), epochs=9).id


def test_a_failed_flush_keeps_the_buffer_for_the_next(
    migrated_database: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    job_id = _job(migrated_database)
    sink = DbMetricSink(job_id, engine=migrated_database, flush_seconds=0.0)
    real_write = metrics.write_epochs
    failures = iter([True, False])

    def flaky_write(session: object, **kwargs: object) -> None:
        real_write(session, **kwargs)  # type: ignore[arg-type]
        if next(failures, False):
            raise OperationalError("INSERT", {}, Exception("database is locked"))

    monkeypatch.setattr(metrics, "write_epochs", flaky_write)
    sink.log_event("lr_reduced_on_plateau", 1, {"from": [0.1], "to": [0.05]})
    sink.log_epoch(1, {"train_loss": 0.5}, 1)  # its flush fails and rolls back
    sink.log_epoch(2, {"train_loss": 0.4}, 2)  # this one writes both epochs
    sink.flush()
    with session_scope(migrated_database) as session:
        rows = metrics.read_epochs(session, job_id=job_id)
        events = metrics.read_events(session, job_id=job_id)
        count = session.scalar(select(func.count()).where(JobMetric.job_id == job_id))
        current = session.get_one(Job, job_id).current_epoch
    assert [row["epoch"] for row in rows] == [1, 2]
    assert (count, current) == (2, 2)
    assert [event.kind for event in events] == ["queued", "lr_reduced_on_plateau"]


def test_the_final_flush_raises_when_the_database_fails(
    migrated_database: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    job_id = _job(migrated_database)
    sink = DbMetricSink(job_id, engine=migrated_database, flush_seconds=3600)
    sink.log_epoch(1, {"train_loss": 0.5}, 1)

    def broken(*_args: object, **_kwargs: object) -> None:
        raise OperationalError("INSERT", {}, Exception("disk I/O error"))

    monkeypatch.setattr(metrics, "write_epochs", broken)
    with pytest.raises(OperationalError):
        sink.flush()
    monkeypatch.undo()
    sink.flush()
    with session_scope(migrated_database) as session:
        assert [row["epoch"] for row in metrics.read_epochs(session, job_id=job_id)] == [1]
