"""run_job: claim -> build -> fit -> finish, each database step in its own short transaction."""

import logging
import socket
import uuid

from pydantic import ValidationError
from sqlalchemy import Engine

from core import jobs
from core.db import get_engine, session_scope
from core.jobs import Outcome
from core.settings import get_settings
from models import Job, JobStatus
from training.device import resolve_device
from training.loop import FitResult, TrainingDiverged, fit
from training.run import build_run
from training.spec import TrainingSpec
from worker.db_sink import DbMetricSink

log = logging.getLogger(__name__)


def _claim(engine: Engine, job_id: uuid.UUID) -> bool:
    with session_scope(engine) as session:
        return jobs.claim(session, job_id=job_id, worker=socket.gethostname())


def _load_spec(engine: Engine, job_id: uuid.UUID) -> TrainingSpec:
    with session_scope(engine) as session:
        return TrainingSpec.model_validate(session.get_one(Job, job_id).spec)


def _train(engine: Engine, job_id: uuid.UUID, spec: TrainingSpec) -> FitResult:
    sink = DbMetricSink(job_id, engine=engine, flush_seconds=get_settings().METRICS_FLUSH_SECONDS)
    try:
        run = build_run(spec, resolve_device(spec.training.device))
        return fit(run, sink, should_stop=sink.cancel_requested)
    finally:
        sink.flush()  # epochs already trained are kept whatever happens next


def _outcome(result: FitResult) -> Outcome:
    status = JobStatus.CANCELLED if result.stop_reason == "cancelled" else JobStatus.SUCCEEDED
    return Outcome(
        status=status,
        stop_reason=result.stop_reason,
        epoch=result.epochs_completed,
        final_metrics=result.last_metrics | result.test_metrics,
        best_epoch=result.best_epoch or None,
        best_metrics=result.best_metrics or None,
    )


def _failure(reason: str, error: str, epoch: int | None = None) -> Outcome:
    return Outcome(status=JobStatus.FAILED, stop_reason=reason, epoch=epoch, error=error)


def run_job(job_id: uuid.UUID, engine: Engine | None = None) -> None:
    """Run one job to its end; a duplicate message or a cancelled job does nothing."""
    engine = engine or get_engine()
    if not _claim(engine, job_id):
        log.info("job %s not claimable (duplicate message or cancelled)", job_id)
        return
    try:
        outcome = _outcome(_train(engine, job_id, _load_spec(engine, job_id)))
    except ValidationError as exc:
        outcome = _failure("invalid_spec", f"stored spec is no longer valid: {exc}")
    except TrainingDiverged as exc:
        outcome = _failure(exc.reason, f"{exc.reason}: {exc}", exc.epoch)
    except Exception as exc:
        log.exception("job %s failed", job_id)
        outcome = _failure("error", f"{type(exc).__name__}: {exc}")
    _finish(engine, job_id, outcome)


def _finish(engine: Engine, job_id: uuid.UUID, outcome: Outcome) -> None:
    with session_scope(engine) as session:
        jobs.finish(session, job_id=job_id, outcome=outcome)
