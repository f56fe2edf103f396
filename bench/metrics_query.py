"""Metrics reads of a 100,000-epoch job: every row against max_points=1000, SQLite and PostgreSQL.

Run: .venv/bin/python -m bench.metrics_query  (prints a Markdown table; bench/metrics_query.md)
"""

import json
import random
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from bench.databases import scratch_databases
from bench.stats import median
from core import jobs, metrics, series, users
from core.db import session_scope
from core.metrics import EpochRecord
from tests.helpers import moons_spec

EPOCHS = 100_000
KEYS = (
    "train_loss",
    "train_accuracy",
    "val_loss",
    "val_accuracy",
    "lr/0",
    "iterations",
    "seconds",
    "samples_per_second",
)
WRITE_BATCH = 5_000
REPEATS = 5
COVERING_INDEX = "CREATE INDEX ix_bench_series ON job_metrics (job_id, key, epoch, value)"


def _job(engine: Engine) -> uuid.UUID:
    with session_scope(engine) as session:
        user, _ = users.create(session, name=f"bench-{uuid.uuid4().hex[:8]}")
        return jobs.create(
            session, owner_id=user.id, name="bench", spec=moons_spec(), epochs=EPOCHS
        ).id


def _fill(engine: Engine, job_id: uuid.UUID) -> None:
    rng = random.Random(0)
    for start in range(1, EPOCHS + 1, WRITE_BATCH):
        records = [
            EpochRecord(epoch, epoch, {key: rng.random() for key in KEYS})
            for epoch in range(start, min(start + WRITE_BATCH, EPOCHS + 1))
        ]
        with session_scope(engine) as session:
            metrics.write_epochs(session, job_id=job_id, records=records)


def _timed(engine: Engine, read: Callable[[Session], Any]) -> tuple[float, int]:
    """Median seconds of a read, answer encoded as JSON as the route does, and its size."""
    seconds, size = [], 0
    for _ in range(REPEATS):
        with Session(engine) as session:
            started = time.perf_counter()
            size = len(json.dumps(read(session)))
            seconds.append(time.perf_counter() - started)
    return median(seconds), size


def _cases(job_id: uuid.UUID) -> dict[str, Callable[[Session], Any]]:
    two = ["train_loss", "val_loss"]
    return {
        "every row, all keys": lambda s: metrics.read_range(s, job_id=job_id, first=1, last=EPOCHS),
        "every row, 2 keys": lambda s: metrics.read_range(
            s, job_id=job_id, first=1, last=EPOCHS, keys=two
        ),
        "max_points=1000, 1 key": lambda s: series.read_downsampled(
            s, job_id=job_id, first=1, last=EPOCHS, keys=two[:1], max_points=1000
        ),
        "max_points=1000, 2 keys": lambda s: series.read_downsampled(
            s, job_id=job_id, first=1, last=EPOCHS, keys=two, max_points=1000
        ),
        "since_epoch poll (newest 10)": lambda s: metrics.read_epochs(
            s, job_id=job_id, since_epoch=EPOCHS - 10
        ),
        "ETag check (last epoch)": lambda s: metrics.last_epoch(s, job_id=job_id),
    }


def main() -> None:
    lines = ["| database | query | median ms | JSON bytes |", "| --- | --- | ---: | ---: |"]
    with tempfile.TemporaryDirectory() as directory, scratch_databases(Path(directory)) as dbs:
        for name, engine in dbs.items():
            job_id = _job(engine)
            _fill(engine, job_id)
            for case, read in _cases(job_id).items():
                seconds, size = _timed(engine, read)
                lines.append(f"| {name} | {case} | {seconds * 1000:.1f} | {size:,} |")
            with Session(engine) as session:
                started = time.perf_counter()
                series.summarize(session, job_id=job_id, upto=EPOCHS)
                first = time.perf_counter() - started
            lines.append(f"| {name} | summary, first read (later: cached) | {first * 1000:.1f} | |")
            # what a covering index per series would give (a schema change, measured only here)
            with engine.begin() as connection:
                connection.execute(text(COVERING_INDEX))
            for case, read in _cases(job_id).items():
                if case.startswith("max_points"):
                    seconds, size = _timed(engine, read)
                    lines.append(f"| {name} | {case}, covering index | {seconds * 1000:.1f} | |")
    print("\n".join(lines))  # noqa: T201


if __name__ == "__main__":
    main()
