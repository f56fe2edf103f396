"""Metrics at size: a job with many stored epochs, read in full, near its end and downsampled."""

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from api.deps import get_session
from api.main import create_app
from bench.databases import new_owned_job
from bench.stats import median
from bench.workloads import MOONS_SPEC
from core import metrics
from core.db import session_factory, session_scope
from core.metrics import EpochRecord

# what a moons job records every epoch
KEYS = ("train_loss", "train_accuracy", "lr/0", "iterations", "seconds", "samples_per_second")
CHUNK_EPOCHS = 5_000
TAIL_EPOCHS = 10
MAX_POINTS = 1000


def _records(first: int, last: int) -> list[EpochRecord]:
    return [
        EpochRecord(
            epoch=epoch,
            step=epoch,
            values={key: 1.0 / (epoch + index) for index, key in enumerate(KEYS)},
        )
        for epoch in range(first, last + 1)
    ]


def fill(engine: Engine, job_id: uuid.UUID, epochs: int) -> float:
    """Store epochs 1..epochs with core.metrics.write_epochs, a chunk per transaction; seconds."""
    started = time.perf_counter()
    for first in range(1, epochs + 1, CHUNK_EPOCHS):
        records = _records(first, min(first + CHUNK_EPOCHS - 1, epochs))
        with session_scope(engine) as session:
            metrics.write_epochs(session, job_id=job_id, records=records)
    return time.perf_counter() - started


def _timed(call: Callable[[int], int], repetitions: int) -> dict[str, Any]:
    """Median seconds of call(i) over repetitions, and the epochs call(0) returned."""
    seconds, returned = [], []
    for index in range(repetitions):
        started = time.perf_counter()
        returned.append(call(index))
        seconds.append(time.perf_counter() - started)
    return {"median_s": median(seconds), "epochs_returned": returned[0]}


@contextmanager
def _client(engine: Engine) -> Iterator[TestClient]:
    app = create_app()

    def scratch_session() -> Iterator[Session]:
        with session_factory(engine)() as session:
            yield session

    app.dependency_overrides[get_session] = scratch_session
    with TestClient(app) as client:
        yield client


def _http_reads(
    engine: Engine, job_id: uuid.UUID, token: str, epochs: int, repetitions: int
) -> dict[str, Any]:
    # each repetition asks for a different window, so no kept body answers it
    with _client(engine) as client:
        headers = {"Authorization": f"Bearer {token}"}
        url = f"/api/v1/jobs/{job_id}/metrics"
        openapi = client.get("/openapi.json").json()
        parameters = openapi["paths"]["/api/v1/jobs/{job_id}/metrics"]["get"]["parameters"]
        has_max_points = any(p["name"] == "max_points" for p in parameters)

        def get(params: dict[str, Any]) -> int:
            response = client.get(url, params=params, headers=headers)
            return len(response.raise_for_status().json()["items"])

        reads = {
            "http_all": _timed(lambda i: get({"since_epoch": i, "limit": epochs - i}), repetitions),
            "http_since_epoch": _timed(
                lambda i: get({"since_epoch": epochs - TAIL_EPOCHS - i, "limit": TAIL_EPOCHS}),
                repetitions,
            ),
        }
        if has_max_points:
            reads["http_max_points"] = _timed(
                lambda i: get({"max_points": MAX_POINTS - i, "limit": epochs}), repetitions
            )
        return reads


def _core_reads(engine: Engine, job_id: uuid.UUID, epochs: int, repetitions: int) -> dict[str, Any]:
    def read(since_epoch: int, limit: int) -> int:
        with session_scope(engine) as session:
            rows = metrics.read_epochs(session, job_id=job_id, since_epoch=since_epoch, limit=limit)
        return len(rows)

    return {
        "core_all": _timed(lambda _i: read(0, epochs), repetitions),
        "core_since_epoch": _timed(lambda _i: read(epochs - TAIL_EPOCHS, epochs), repetitions),
    }


def metrics_at_size(engine: Engine, epochs: int, repetitions: int) -> dict[str, Any]:
    """Fill a job with epochs, then time reads through core.metrics and through the route."""
    job_id, token = new_owned_job(engine, MOONS_SPEC, epochs)
    insert_seconds = fill(engine, job_id, epochs)
    rows = epochs * len(KEYS)
    return {
        "epochs": epochs,
        "rows": rows,
        "insert_s": insert_seconds,
        "insert_rows_per_s": rows / insert_seconds,
        **_core_reads(engine, job_id, epochs, repetitions),
        **_http_reads(engine, job_id, token, epochs, repetitions),
    }
