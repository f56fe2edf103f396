"""Job lifecycle in the database: exclusive claims, cancellation, owner scoping, pagination."""

import uuid

import pytest
from sqlalchemy import Engine

from core import jobs, users
from core.db import session_scope
from core.errors import InvalidCursor, JobNotCancellable, JobNotFound
from models import Job, JobStatus, User
from tests.helpers import moons_spec


def _user(engine: Engine, *, is_admin: bool = False) -> User:
    with session_scope(engine) as session:
        user, _ = users.create(session, name=f"u-{uuid.uuid4().hex[:8]}", is_admin=is_admin)
    return user


def _job(engine: Engine, owner: User) -> uuid.UUID:
    with session_scope(engine) as session:
        job = jobs.create(session, owner_id=owner.id, name=None, spec=moons_spec(), epochs=1000)
        return job.id


def test_claim_is_exclusive(any_engine: Engine) -> None:
    job_id = _job(any_engine, _user(any_engine))
    with session_scope(any_engine) as session:
        assert jobs.claim(session, job_id=job_id, worker="w1", lease_seconds=60)
    with session_scope(any_engine) as session:
        assert not jobs.claim(session, job_id=job_id, worker="w2", lease_seconds=60)
        job = session.get_one(Job, job_id)
        assert (job.status, job.attempt, job.worker) == (JobStatus.RUNNING, 1, "w1")
        assert job.started_at is not None
        assert job.started_at.tzinfo is not None


def test_cancelled_queued_job_cannot_be_claimed(any_engine: Engine) -> None:
    owner = _user(any_engine)
    job_id = _job(any_engine, owner)
    with session_scope(any_engine) as session:
        job = jobs.request_cancel(session, job=session.get_one(Job, job_id))
        assert job.status == JobStatus.CANCELLED
    with session_scope(any_engine) as session:
        assert not jobs.claim(session, job_id=job_id, worker="w", lease_seconds=60)
        with pytest.raises(JobNotCancellable):
            jobs.request_cancel(session, job=session.get_one(Job, job_id))


def test_cancelling_a_running_job_sets_the_flag_only(any_engine: Engine) -> None:
    job_id = _job(any_engine, _user(any_engine))
    with session_scope(any_engine) as session:
        jobs.claim(session, job_id=job_id, worker="w", lease_seconds=60)
    with session_scope(any_engine) as session:
        job = jobs.request_cancel(session, job=session.get_one(Job, job_id))
        assert (job.status, job.cancel_requested) == (JobStatus.RUNNING, True)


def test_foreign_job_is_not_found_but_admin_sees_it(any_engine: Engine) -> None:
    owner, other, admin = _user(any_engine), _user(any_engine), _user(any_engine, is_admin=True)
    job_id = _job(any_engine, owner)
    with session_scope(any_engine) as session:
        with pytest.raises(JobNotFound):
            jobs.get_for_owner(session, job_id=job_id, user=other)
        assert jobs.get_for_owner(session, job_id=job_id, user=admin).id == job_id


def test_list_is_newest_first_filtered_and_paginated(any_engine: Engine) -> None:
    owner = _user(any_engine)
    ids = [_job(any_engine, owner) for _ in range(5)]
    _job(any_engine, _user(any_engine))
    with session_scope(any_engine) as session:
        jobs.claim(session, job_id=ids[1], worker="w", lease_seconds=60)
    seen: list[uuid.UUID] = []
    cursor = None
    with session_scope(any_engine) as session:
        while True:
            page = jobs.list_for_owner(session, user=owner, limit=2, cursor=cursor)
            seen += [job.id for job in page.items]
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        assert seen == ids[::-1]
        running = jobs.list_for_owner(session, user=owner, status=JobStatus.RUNNING, limit=1)
        assert [job.id for job in running.items] == [ids[1]]
        assert running.next_cursor is None
        with pytest.raises(InvalidCursor):
            jobs.list_for_owner(session, user=owner, cursor="not-a-cursor")
