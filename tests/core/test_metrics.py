"""Metric rows: idempotent writes, NaN handling, epoch windows."""

import math
import uuid

from sqlalchemy import Engine, func, select

from core import jobs, metrics, users
from core.db import session_scope
from core.metrics import EpochRecord
from models import JobMetric
from tests.helpers import moons_spec


def _job_id(engine: Engine) -> uuid.UUID:
    with session_scope(engine) as session:
        user, _ = users.create(session, name=f"m-{uuid.uuid4().hex[:8]}")
        return jobs.create(session, owner_id=user.id, name=None, spec=moons_spec(), epochs=3).id


def _record(epoch: int, loss: float) -> EpochRecord:
    return EpochRecord(epoch=epoch, step=epoch, values={"train_loss": loss, "lr/0": 0.1})


def test_rewriting_epochs_keeps_one_row_each(any_engine: Engine) -> None:
    job_id = _job_id(any_engine)
    for _ in range(2):
        with session_scope(any_engine) as session:
            metrics.write_epochs(session, job_id=job_id, records=[_record(1, 0.5), _record(2, 0.4)])
    with session_scope(any_engine) as session:
        count = session.scalar(select(func.count()).where(JobMetric.job_id == job_id))
        assert count == 4
        rows = metrics.read_epochs(session, job_id=job_id)
    assert rows == [
        {"epoch": 1, "train_loss": 0.5, "lr/0": 0.1},
        {"epoch": 2, "train_loss": 0.4, "lr/0": 0.1},
    ]


def test_nan_is_stored_as_null_with_a_flag(any_engine: Engine) -> None:
    job_id = _job_id(any_engine)
    with session_scope(any_engine) as session:
        metrics.write_epochs(session, job_id=job_id, records=[_record(1, math.nan)])
    with session_scope(any_engine) as session:
        row = session.scalars(
            select(JobMetric).where(JobMetric.key == "train_loss", JobMetric.job_id == job_id)
        ).one()
        assert (row.value, row.is_nan) == (None, True)


def test_since_epoch_and_limit_select_a_window(any_engine: Engine) -> None:
    job_id = _job_id(any_engine)
    with session_scope(any_engine) as session:
        metrics.write_epochs(
            session, job_id=job_id, records=[_record(e, 1 / e) for e in range(1, 11)]
        )
    with session_scope(any_engine) as session:
        rows = metrics.read_epochs(session, job_id=job_id, since_epoch=6, limit=3)
    assert [row["epoch"] for row in rows] == [7, 8, 9]
