"""Metric rows: idempotent writes, NaN handling, epoch windows, extremes, summaries."""

import math
import random
import uuid
from typing import Any

import pytest
from sqlalchemy import Engine, delete, func, select

from core import jobs, metrics, series, users
from core.db import session_scope
from core.metrics import EpochRecord, ParameterRejected
from models import Job, JobMetric, User
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


def test_a_retry_overlapping_stored_epochs_stores_each_once(any_engine: Engine) -> None:
    job_id = _job_id(any_engine)
    with session_scope(any_engine) as session:
        metrics.write_epochs(session, job_id=job_id, records=[_record(1, 0.5), _record(2, 0.4)])
    with session_scope(any_engine) as session:
        records = [_record(2, 0.4), _record(3, 0.3)]
        metrics.write_epochs(session, job_id=job_id, records=records)
    with session_scope(any_engine) as session:
        rows = metrics.read_epochs(session, job_id=job_id)
    assert [(row["epoch"], row["train_loss"]) for row in rows] == [(1, 0.5), (2, 0.4), (3, 0.3)]


def test_deleting_a_job_or_its_owner_deletes_its_metrics(any_engine: Engine) -> None:
    deleted_job, deleted_owner, kept = (_job_id(any_engine) for _ in range(3))
    for job_id in (deleted_job, deleted_owner, kept):
        with session_scope(any_engine) as session:
            metrics.write_epochs(session, job_id=job_id, records=[_record(1, 0.5)])
    with session_scope(any_engine) as session:
        owner = session.get_one(Job, deleted_owner).owner_id
        session.execute(delete(Job).where(Job.id == deleted_job))
        session.execute(delete(User).where(User.id == owner))  # its jobs go by cascade
    with session_scope(any_engine) as session:
        stored = session.scalars(select(JobMetric.job_id).distinct()).all()
    assert {deleted_job, deleted_owner, kept} & set(stored) == {kept}


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


def _write(engine: Engine, job_id: uuid.UUID, series: dict[str, list[float]]) -> None:
    epochs = len(next(iter(series.values())))
    records = [
        EpochRecord(epoch=e, step=e, values={k: v[e - 1] for k, v in series.items()})
        for e in range(1, epochs + 1)
    ]
    with session_scope(engine) as session:
        metrics.write_epochs(session, job_id=job_id, records=records)


def _brute_extremes(values: list[float], first: int, last: int, buckets: int) -> dict[int, Any]:
    """Per bucket: (min, first epoch at min, max, first epoch at max), NaN left out."""
    span = last - first + 1
    found: dict[int, Any] = {}
    for epoch in range(first, last + 1):
        value = values[epoch - 1]
        if math.isnan(value):
            continue
        bucket = (epoch - first) * buckets // span
        lo, lo_at, hi, hi_at = found.get(bucket, (math.inf, 0, -math.inf, 0))
        if value < lo:
            lo, lo_at = value, epoch
        if value > hi:
            hi, hi_at = value, epoch
        found[bucket] = (lo, lo_at, hi, hi_at)
    return found


def _noisy(n: int, seed: int) -> list[float]:
    rng = random.Random(seed)
    values = [round(rng.gauss(0, 1), 1) for _ in range(n)]  # rounded: many ties
    for epoch in rng.sample(range(n), 5):
        values[epoch] = math.nan
    return values


@pytest.mark.parametrize(("first", "last", "buckets"), [(1, 997, 1), (1, 997, 37), (101, 650, 9)])
def test_bucket_extremes_equal_a_brute_force_scan(
    any_engine: Engine, first: int, last: int, buckets: int
) -> None:
    job_id = _job_id(any_engine)
    values = _noisy(997, seed=buckets)
    _write(any_engine, job_id, {"a": values, "lr/0": [0.1] * 997})
    with session_scope(any_engine) as session:
        found = series.bucket_extremes(
            session, job_id=job_id, first=first, last=last, keys=["a"], buckets=buckets
        )
    expected = _brute_extremes(values, first, last, buckets)
    assert {bucket: tuple(vars(x).values()) for (_, bucket), x in found.items()} == expected


def test_downsampling_keeps_first_last_and_every_spike(any_engine: Engine) -> None:
    job_id = _job_id(any_engine)
    loss = [1 / e for e in range(1, 5001)]
    loss[1233], loss[4321] = 50.0, -3.0  # a spike up and one down
    _write(any_engine, job_id, {"train_loss": loss, "lr/0": [0.01] * 5000})
    with session_scope(any_engine) as session:
        items = series.read_downsampled(
            session, job_id=job_id, first=1, last=5000, keys=["train_loss"], max_points=100
        )
    epochs = [item["epoch"] for item in items]
    assert epochs == sorted(epochs)
    assert len(items) <= 100
    assert {1, 1234, 4322, 5000} <= set(epochs)
    assert all(item["train_loss"] == loss[item["epoch"] - 1] for item in items)
    assert set(items[0]) == {"epoch", "train_loss"}


def test_summaries_grow_with_the_epochs_and_match_the_rows(any_engine: Engine) -> None:
    job_id = _job_id(any_engine)
    values = _noisy(300, seed=1)
    values[-1] = math.nan
    _write(any_engine, job_id, {"a": values[:120]})
    with session_scope(any_engine) as session:
        early = series.summarize(session, job_id=job_id, upto=120)["a"]
    assert early.last_epoch == 120
    with session_scope(any_engine) as session:
        metrics.write_epochs(
            session,
            job_id=job_id,
            records=[EpochRecord(e, e, {"a": values[e - 1]}) for e in range(121, 301)],
        )
        summary = series.summarize(session, job_id=job_id, upto=300)["a"]
    [whole] = _brute_extremes(values, 1, 300, 1).values()
    assert (summary.last, summary.last_epoch) == (None, 300)
    assert summary.extremes is not None
    assert tuple(vars(summary.extremes).values()) == whole


def test_keys_name_recorded_series_and_lr_stands_for_every_group() -> None:
    recorded = ["lr/0", "lr/1", "lr/10", "train_loss", "val_loss"]
    assert metrics.select_keys(["val_loss", "lr"], recorded) == [
        "val_loss",
        "lr/0",
        "lr/1",
        "lr/10",
    ]
    assert metrics.select_keys(None, recorded) is None
    with pytest.raises(ParameterRejected) as rejected:
        metrics.select_keys(["val_los"], recorded)
    assert rejected.value.parameter == "keys"
    assert "'val_los'" in str(rejected.value)
