"""run_job: claim -> build -> fit -> finish, each database step in its own short transaction."""

import logging
import socket
import uuid

from pydantic import ValidationError
from sqlalchemy import Engine

from core import jobs
from core.db import get_engine, session_scope
from core.settings import get_settings
from models import Job, JobStatus
from training.device import resolve_device
from training.loop import FitResult, TrainingDiverged, fit
from training.run import build_run
from training.spec import TrainingSpec
from worker.db_sink import DbMetricSink

log = logging.getLogger(__name__)


def _claim(engine: Engine, job_id: uuid.UUID) -> TrainingSpec | None:
    with session_scope(engine) as session:
        if not jobs.claim(session, job_id=job_id, worker=socket.gethostname()):
            return None
        job = session.get_one(Job, job_id)
        return TrainingSpec.model_validate(job.spec)


def _train(engine: Engine, job_id: uuid.UUID, spec: TrainingSpec) -> FitResult:
    sink = DbMetricSink(job_id, engine=engine, flush_seconds=get_settings().METRICS_FLUSH_SECONDS)
    try:
        run = build_run(spec, resolve_device(spec.training.device))
        return fit(run, sink, should_stop=sink.cancel_requested)
    finally:
        sink.flush()  # epochs already trained are kept whatever happens next


def run_job(job_id: uuid.UUID, engine: Engine | None = None) -> None:
    """Run one job to its end; a duplicate message or a cancelled job does nothing."""
    engine = engine or get_engine()
    try:
        spec = _claim(engine, job_id)
    except ValidationError as exc:
        _fail(engine, job_id, f"stored spec is no longer valid: {exc}")
        return
    if spec is None:
        log.info("job %s not claimable (duplicate message or cancelled)", job_id)
        return
    try:
        result = _train(engine, job_id, spec)
    except TrainingDiverged as exc:
        _fail(engine, job_id, f"{exc.reason}: {exc}")
        return
    except Exception as exc:
        log.exception("job %s failed", job_id)
        _fail(engine, job_id, f"{type(exc).__name__}: {exc}")
        return
    status = JobStatus.CANCELLED if result.stop_reason == "cancelled" else JobStatus.SUCCEEDED
    with session_scope(engine) as session:
        jobs.finish(session, job_id=job_id, status=status, final_metrics=result.last_metrics)


def _fail(engine: Engine, job_id: uuid.UUID, reason: str) -> None:
    with session_scope(engine) as session:
        jobs.finish(session, job_id=job_id, status=JobStatus.FAILED, error=reason)
