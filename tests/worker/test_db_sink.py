"""DbMetricSink: epochs survive a failed flush, are written once, only by the lease holder."""

import uuid

import pytest
from sqlalchemy import Engine, func, select, update
from sqlalchemy.exc import InternalError, OperationalError

from core import jobs, metrics, users
from core.db import session_scope
from core.leases import LeaseLost
from models import Job, JobMetric
from tests.helpers import moons_spec
from worker.db_sink import DbMetricSink


def _job(engine: Engine) -> uuid.UUID:
    """A job claimed by attempt 1."""
    with session_scope(engine) as session:
        user, _ = users.create(session, name=f"s-{uuid.uuid4().hex[:8]}")
        job_id = jobs.create(session, owner_id=user.id, name=None, spec=moons_spec(), epochs=9).id
    with session_scope(engine) as session:
        assert jobs.claim(session, job_id=job_id, worker="test", lease_seconds=60) == 1
    return job_id


def _sink(
    engine: Engine, job_id: uuid.UUID, flush_seconds: float, attempt: int = 1
) -> DbMetricSink:
    return DbMetricSink(
        job_id, engine=engine, flush_seconds=flush_seconds, attempt=attempt, lease_seconds=60
    )


def test_a_failed_flush_keeps_the_buffer_for_the_next(
    migrated_database: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    job_id = _job(migrated_database)
    sink = _sink(migrated_database, job_id, 0.0)
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
    assert [event.kind for event in events] == ["queued", "started", "lr_reduced_on_plateau"]


def test_the_final_flush_raises_when_the_database_fails(
    migrated_database: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    job_id = _job(migrated_database)
    sink = _sink(migrated_database, job_id, 3600)
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


def test_a_superseded_attempt_writes_nothing(migrated_database: Engine) -> None:
    job_id = _job(migrated_database)
    stale = _sink(migrated_database, job_id, 3600, attempt=1)
    stale.log_epoch(1, {"train_loss": 0.5}, 1)
    stale.flush()
    with session_scope(migrated_database) as session:
        # the sweeper gave attempt 1 up and attempt 2 took the job over
        session.execute(update(Job).where(Job.id == job_id).values(attempt=2))
    stale.log_epoch(2, {"train_loss": 0.4}, 2)
    stale.log_event("epoch_milestone", 2, {"percent": 25})
    with pytest.raises(LeaseLost):
        stale.flush()
    assert not stale.try_flush()
    assert stale.lease_lost
    with session_scope(migrated_database) as session:
        rows = metrics.read_epochs(session, job_id=job_id)
        kinds = [event.kind for event in metrics.read_events(session, job_id=job_id)]
        assert session.get_one(Job, job_id).current_epoch == 1
    assert [row["epoch"] for row in rows] == [1]
    assert "epoch_milestone" not in kinds


def test_a_flush_renews_the_lease_and_reads_the_flags(migrated_database: Engine) -> None:
    job_id = _job(migrated_database)
    with session_scope(migrated_database) as session:
        job = session.get_one(Job, job_id)
        before = job.lease_expires_at
        job.pause_requested = True
    sink = _sink(migrated_database, job_id, 3600)
    sink.flush()
    with session_scope(migrated_database) as session:
        after = session.get_one(Job, job_id).lease_expires_at
    assert before is not None
    assert after is not None
    assert after > before
    assert (sink.flags.cancel, sink.flags.pause) == (False, True)


@pytest.mark.parametrize(
    ("error", "retried"),
    [
        # the server ended a session left idle in a transaction: the pool has dropped it
        (
            InternalError(
                "INSERT", {}, Exception("idle-in-transaction timeout"), connection_invalidated=True
            ),
            True,
        ),
        (InternalError("INSERT", {}, Exception("an internal error")), False),
    ],
    ids=["ended-connection", "other-internal-error"],
)
def test_an_ended_connection_postpones_the_flush_like_an_unreachable_database(
    migrated_database: Engine,
    monkeypatch: pytest.MonkeyPatch,
    error: InternalError,
    retried: bool,
) -> None:
    job_id = _job(migrated_database)
    sink = _sink(migrated_database, job_id, 3600)
    sink.log_epoch(1, {"train_loss": 0.5}, 1)

    def broken(*_args: object, **_kwargs: object) -> None:
        raise error

    monkeypatch.setattr(metrics, "write_epochs", broken)
    if retried:
        assert not sink.try_flush()
    else:
        with pytest.raises(InternalError):
            sink.try_flush()
    monkeypatch.undo()
    assert sink.try_flush()
    with session_scope(migrated_database) as session:
        assert [row["epoch"] for row in metrics.read_epochs(session, job_id=job_id)] == [1]
