"""Series shapes without reading every row: extremes per bucket, downsampling, summaries."""

import threading
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Double,
    cast,
    func,
    literal_column,
    select,
    type_coerce,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from core.metrics import read_at, series_query
from models import JobMetric

SUMMARY_CACHE_SIZE = 1024
# the extremes read only rows with a value (NaN is stored as NULL)
FINITE_VALUE = type_coerce(JobMetric.value, Double[float]())


@dataclass(frozen=True)
class Extremes:
    """The smallest and largest finite value of a series in a range, each at its first epoch."""

    min: float
    min_epoch: int
    max: float
    max_epoch: int

    def merge(self, other: "Extremes") -> "Extremes":
        """Extremes of two ranges, self's being the earlier one (it wins ties)."""
        low = self if self.min <= other.min else other
        high = self if self.max >= other.max else other
        return Extremes(low.min, low.min_epoch, high.max, high.max_epoch)


@dataclass(frozen=True)
class KeySummary:
    """One series: its last value (None for NaN) and its finite extremes (None if none yet)."""

    last: float | None
    last_epoch: int
    extremes: Extremes | None


def read_downsampled(
    session: Session,
    *,
    job_id: uuid.UUID,
    first: int,
    last: int,
    keys: Sequence[str],
    max_points: int,
) -> list[dict[str, Any]]:
    """At most about max_points epochs of first..last that keep the shape of every series.

    The range is cut into equal buckets of epochs; each series keeps its smallest and largest
    value in every bucket, so no spike is lost, and the first and last epoch are always kept.
    Every kept epoch carries the values of all the keys.
    """
    buckets = max(1, (max_points - 2) // (2 * max(1, len(keys))))
    kept = {first, last}
    for extremes in bucket_extremes(
        session, job_id=job_id, first=first, last=last, keys=keys, buckets=buckets
    ).values():
        kept |= {extremes.min_epoch, extremes.max_epoch}
    return read_at(session, job_id=job_id, epochs=kept, keys=keys)


def bucket_extremes(
    session: Session,
    *,
    job_id: uuid.UUID,
    first: int,
    last: int,
    keys: Sequence[str] | None,
    buckets: int,
) -> dict[tuple[str, int], Extremes]:
    """(key, bucket) -> the extremes of that key's finite values in that bucket of first..last.

    One pass over the rows: PostgreSQL compares [value, epoch] arrays, SQLite takes the bare
    epoch column of the row min() or max() picked; other databases are read into Python.
    """
    span = last - first + 1
    # integers written into the SQL: a bound parameter would make PostgreSQL see the GROUP BY
    # expression as different from the selected one
    bucket = literal_column(
        f"(CAST(job_metrics.epoch AS BIGINT) - {int(first)}) * {int(buckets)} / {int(span)}",
        BigInteger,
    )
    where = JobMetric.epoch.between(first, last), JobMetric.value.is_not(None)
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return _extremes_postgresql(session, job_id, keys, bucket, where)
    if dialect == "sqlite":
        return _extremes_sqlite(session, job_id, keys, bucket, where)
    return _extremes_python(session, job_id, keys, first, span, buckets)


def _extremes_postgresql(
    session: Session,
    job_id: uuid.UUID,
    keys: Sequence[str] | None,
    bucket: ColumnElement[int],
    where: tuple[ColumnElement[bool], ...],
) -> dict[tuple[str, int], Extremes]:
    epoch = cast(JobMetric.epoch, Double)
    low = func.min(postgresql.array([JobMetric.value, epoch]))
    high = func.max(postgresql.array([JobMetric.value, -epoch]))  # ties: the first epoch
    query = select(JobMetric.key, bucket, low, high).where(*where).group_by(JobMetric.key, bucket)
    return {
        (key, b): Extremes(lo[0], int(lo[1]), hi[0], int(-hi[1]))
        for key, b, lo, hi in session.execute(series_query(query, job_id, keys))
    }


def _extremes_sqlite(
    session: Session,
    job_id: uuid.UUID,
    keys: Sequence[str] | None,
    bucket: ColumnElement[int],
    where: tuple[ColumnElement[bool], ...],
) -> dict[tuple[str, int], Extremes]:
    found: list[dict[tuple[str, int], tuple[float, int]]] = []
    for aggregate in (func.min, func.max):
        query = select(JobMetric.key, bucket, aggregate(FINITE_VALUE), JobMetric.epoch)
        query = series_query(query.where(*where).group_by(JobMetric.key, bucket), job_id, keys)
        found.append({(key, b): (value, epoch) for key, b, value, epoch in session.execute(query)})
    lows, highs = found
    return {group: Extremes(*lows[group], *highs[group]) for group in lows}


def _extremes_python(
    session: Session,
    job_id: uuid.UUID,
    keys: Sequence[str] | None,
    first: int,
    span: int,
    buckets: int,
) -> dict[tuple[str, int], Extremes]:
    query = select(JobMetric.key, JobMetric.epoch, FINITE_VALUE).where(
        JobMetric.epoch.between(first, first + span - 1), JobMetric.value.is_not(None)
    )
    found: dict[tuple[str, int], Extremes] = {}
    for key, epoch, value in session.execute(series_query(query, job_id, keys).order_by("epoch")):
        group = (key, (epoch - first) * buckets // span)
        point = Extremes(value, epoch, value, epoch)
        found[group] = found[group].merge(point) if group in found else point
    return found


_summaries: OrderedDict[uuid.UUID, tuple[int, dict[str, KeySummary]]] = OrderedDict()
_summaries_lock = threading.Lock()


def summarize(session: Session, *, job_id: uuid.UUID, upto: int) -> dict[str, KeySummary]:
    """Per key: last value, min and max with their epochs, over epochs 1..upto.

    Stored epochs never change, so a summary is kept per job and extended with the newer epochs
    only: polling a long job costs the epochs added since the last poll.
    """
    with _summaries_lock:
        done, summary = _summaries.get(job_id, (0, {}))
    if done > upto:
        done, summary = 0, {}
    if done < upto:
        summary = _extend(session, job_id, dict(summary), done + 1, upto)
        with _summaries_lock:
            _summaries[job_id] = (upto, summary)
            _summaries.move_to_end(job_id)
            while len(_summaries) > SUMMARY_CACHE_SIZE:
                _summaries.popitem(last=False)
    return summary


def _extend(
    session: Session, job_id: uuid.UUID, summary: dict[str, KeySummary], first: int, last: int
) -> dict[str, KeySummary]:
    found = bucket_extremes(session, job_id=job_id, first=first, last=last, keys=None, buckets=1)
    newest = read_at(session, job_id=job_id, epochs=[last], keys=None)
    lasts = {key: value for key, value in newest[0].items() if key != "epoch"} if newest else {}
    for key in {*summary, *lasts, *(key for key, _ in found)}:
        old = summary.get(key)
        extremes = _merged(old.extremes if old else None, found.get((key, 0)))
        if key in lasts:
            summary[key] = KeySummary(lasts[key], last, extremes)
        elif old is not None:
            summary[key] = replace(old, extremes=extremes)
    return summary


def _merged(earlier: Extremes | None, later: Extremes | None) -> Extremes | None:
    if earlier is None or later is None:
        return earlier or later
    return earlier.merge(later)
