"""Fair order, claimable jobs, queue limits and start estimates, on a database of their own.

The queue spans every user, so these tests run on a private SQLite file and a private
PostgreSQL database that each test empties first.
"""

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, delete
from sqlalchemy.orm import Session

from core import jobs, scheduling, users
from core.db import make_engine, session_factory
from core.errors import QueueLimitReached
from core.estimates import start_offsets
from core.migrate import upgrade_to_head
from core.settings import get_settings
from models import Job, JobEvent, JobMetric, JobStatus, User
from tests.databases import postgres_database
from tests.helpers import moons_spec

NOW = datetime(2030, 1, 10, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def queue_engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    if request.param == "sqlite":
        path: Path = tmp_path_factory.mktemp("queue") / "gradq.db"
        url = f"sqlite:///{path}"
        upgrade_to_head(url)
        engine = make_engine(url)
        yield engine
        engine.dispose()
        return
    with postgres_database() as url:
        upgrade_to_head(url)
        engine = make_engine(url)
        yield engine
        engine.dispose()


@pytest.fixture
def db(queue_engine: Engine) -> Iterator[Session]:
    with session_factory(queue_engine)() as session:
        session.execute(delete(Job))
        session.execute(delete(User))
        session.commit()
        yield session


def _user(session: Session, name: str) -> User:
    user, _ = users.create(session, name=f"{name}-{uuid.uuid4().hex[:6]}")
    return user


def _job(
    session: Session, owner: User, *, queued_ago: float = 0.0, epochs: int = 10, **columns: Any
) -> Job:
    """A job queued queued_ago seconds before NOW, then given columns (status, started_at...)."""
    job = jobs.create(
        session, owner_id=owner.id, name=None, spec=moons_spec(epochs=epochs), epochs=epochs
    )
    job.queued_at = NOW - timedelta(seconds=queued_ago)
    for key, value in columns.items():
        setattr(job, key, value)
    session.flush()
    return job


def _running(session: Session, owner: User, *, since: float, **columns: Any) -> Job:
    """A job whose current attempt started since seconds before NOW."""
    started = NOW - timedelta(seconds=since)
    columns.setdefault("started_at", started)
    job = _job(session, owner, status=JobStatus.RUNNING, **columns)
    session.add(JobEvent(job_id=job.id, kind="started", at=started, data={}))
    return job


def _claimable(session: Session, *, has_cuda: bool = False) -> list[uuid.UUID]:
    return scheduling.claimable_ids(session, now=NOW, has_cuda=has_cuda)


def test_a_newcomer_goes_before_a_user_with_a_running_job(db: Session) -> None:
    a, b = _user(db, "a"), _user(db, "b")
    _running(db, a, since=600)
    a_queued = [_job(db, a, queued_ago=1000 - i).id for i in range(10)]
    b_job = _job(db, b, queued_ago=1).id
    db.commit()
    assert _claimable(db)[0] == b_job
    view = scheduling.queue_view(db, now=NOW)
    assert [entry.job.id for entry in view] == [b_job, *a_queued]
    assert [entry.position for entry in view] == list(range(1, 12))
    assert view[0].job.owner_name == b.name


def test_priority_beats_fairness(db: Session) -> None:
    a, b = _user(db, "a"), _user(db, "b")
    _running(db, a, since=600)
    urgent = _job(db, a, queued_ago=1, priority=5).id
    b_job = _job(db, b, queued_ago=100).id
    db.commit()
    assert _claimable(db) == [urgent, b_job]


def test_equal_users_are_served_in_queue_order(db: Session) -> None:
    a, b = _user(db, "a"), _user(db, "b")
    first, second, third = (
        _job(db, a, queued_ago=30).id,
        _job(db, b, queued_ago=20).id,
        _job(db, a, queued_ago=10).id,
    )
    db.commit()
    assert _claimable(db) == [first, second, third]


def test_usage_counts_only_the_window(db: Session) -> None:
    window = get_settings().FAIR_SHARE_WINDOW_SECONDS
    old, recent = _user(db, "old"), _user(db, "recent")
    long_ago = NOW - timedelta(seconds=window + 3600)
    _job(db, old, status=JobStatus.SUCCEEDED, run_seconds=36000.0, finished_at=long_ago)
    yesterday = NOW - timedelta(days=1)
    _job(db, recent, status=JobStatus.SUCCEEDED, run_seconds=3600.0, finished_at=yesterday)
    _job(db, recent, status=JobStatus.PAUSED, run_seconds=60.0, heartbeat_at=yesterday)
    old_job, recent_job = _job(db, old, queued_ago=5).id, _job(db, recent, queued_ago=50).id
    db.commit()
    assert _claimable(db) == [old_job, recent_job]
    used = scheduling.usage(db, owner_ids=[old.id, recent.id], now=NOW)
    assert used.seconds.get(old.id, 0.0) == 0.0
    assert used.seconds[recent.id] == pytest.approx(3660)


def test_a_running_job_counts_its_attempts_not_its_pauses(db: Session) -> None:
    owner = _user(db, "resumed")
    # first started three days ago, ran 100 s, was paused, and resumed 50 s ago
    first_start = NOW - timedelta(days=3)
    _running(db, owner, since=50, started_at=first_start, run_seconds=100.0)
    db.commit()
    used = scheduling.usage(db, owner_ids=[owner.id], now=NOW)
    assert used.seconds[owner.id] == pytest.approx(150)
    assert used.running[owner.id] == 1


def test_an_owner_at_the_running_limit_waits(db: Session) -> None:
    cap = get_settings().MAX_RUNNING_PER_USER
    busy, idle = _user(db, "busy"), _user(db, "idle")
    for _ in range(cap):
        _running(db, busy, since=60)
    _job(db, busy, queued_ago=100, priority=10)
    idle_jobs = [_job(db, idle, queued_ago=50 - i).id for i in range(cap + 2)]
    db.commit()
    # the idle user has cap free slots: only that many of their jobs are offered
    assert _claimable(db) == idle_jobs[:cap]


def test_cuda_jobs_wait_for_a_worker_with_cuda(db: Session) -> None:
    owner = _user(db, "gpu")
    gpu_job = _job(db, owner, queued_ago=20, device="cuda").id
    cpu_job = _job(db, owner, queued_ago=10, device="cpu").id
    db.commit()
    assert _claimable(db, has_cuda=False) == [cpu_job]
    assert _claimable(db, has_cuda=True) == [gpu_job, cpu_job]


def test_paused_and_finished_jobs_are_not_in_the_queue(db: Session) -> None:
    owner = _user(db, "p")
    _job(db, owner, status=JobStatus.PAUSED)
    _job(db, owner, status=JobStatus.CANCELLED)
    queued = _job(db, owner).id
    db.commit()
    assert _claimable(db) == [queued]
    assert [entry.job.id for entry in scheduling.queue_view(db, now=NOW)] == [queued]


def test_estimates_follow_the_running_jobs_measured_pace(db: Session) -> None:
    owner = _user(db, "est")
    running = _running(db, owner, since=100, epochs=10, current_epoch=4)
    db.add_all(
        JobMetric(job_id=running.id, epoch=epoch, key="seconds", step=epoch, value=2.0)
        for epoch in range(1, 5)
    )
    first = _job(db, owner, queued_ago=20, epochs=5).id
    resumed = _job(db, owner, queued_ago=10, epochs=5, checkpoint_epoch=3).id
    db.commit()
    view = scheduling.queue_view(db, now=NOW)
    # one worker: 6 epochs left at 2 s, then 5 epochs at the median pace of 2 s
    assert [entry.estimated_start_at for entry in view] == [
        NOW + timedelta(seconds=12),
        NOW + timedelta(seconds=22),
    ]
    assert scheduling.position_of(db, job_id=resumed, now=NOW) == (2, NOW + timedelta(seconds=22))
    assert scheduling.position_of(db, job_id=running.id, now=NOW) is None
    assert view[0].job.id == first


def test_without_a_metric_the_pace_is_time_over_epochs(db: Session) -> None:
    owner = _user(db, "pace")
    _running(db, owner, since=30, epochs=10, current_epoch=3)  # 10 s per epoch
    _running(db, owner, since=5, epochs=10, current_epoch=0)  # pace unknown: never counted on
    queued = _job(db, owner, epochs=2).id
    db.commit()
    [entry] = scheduling.queue_view(db, now=NOW)
    assert entry.job.id == queued
    assert entry.estimated_start_at == NOW + timedelta(seconds=70)


def test_with_nothing_running_the_first_job_starts_now_and_the_rest_are_unknown(
    db: Session,
) -> None:
    owner = _user(db, "empty")
    _job(db, owner, queued_ago=2)
    _job(db, owner, queued_ago=1)
    db.commit()
    view = scheduling.queue_view(db, now=NOW)
    assert [entry.estimated_start_at for entry in view] == [NOW, None]


def test_start_offsets_fill_the_first_free_worker() -> None:
    assert start_offsets([5.0, 1.0], [10.0, 3.0, 1.0, None, 2.0]) == [1.0, 5.0, 8.0, 9.0, 11.0]
    assert start_offsets([None], [1.0]) == [None]
    assert start_offsets([0.0, None], [None, 1.0]) == [0.0, None]


def test_queue_limit_counts_queued_and_paused_jobs(
    db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(get_settings(), "MAX_QUEUED_PER_USER", 2)
    owner, other = _user(db, "full"), _user(db, "other")
    _job(db, owner)
    _job(db, owner, status=JobStatus.RUNNING)
    _job(db, other)
    scheduling.check_queue_limit(db, user=owner)
    _job(db, owner, status=JobStatus.PAUSED)
    with pytest.raises(QueueLimitReached, match="GRADQ_MAX_QUEUED_PER_USER") as refused:
        scheduling.check_queue_limit(db, user=owner)
    assert "limit is 2" in str(refused.value)
    assert refused.value.status_code == 429
