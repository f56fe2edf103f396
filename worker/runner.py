"""Run one attempt at a job: claim -> build -> (resume) -> fit -> results -> finish.

Each database step is its own short transaction, and every write after the claim is guarded by
the attempt's lease (core.leases): if the sweeper has requeued the job meanwhile, this attempt
stops and writes nothing more.
"""

import logging
import socket
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TypeVar

import torch
from pydantic import ValidationError
from safetensors.torch import save as save_tensors
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from core import artifacts, jobs, leases, scheduling
from core.db import database_unavailable, get_engine, session_scope
from core.jobs import Outcome
from core.leases import LeaseLost
from core.settings import get_settings
from models import Job, JobStatus
from training import checkpoint
from training.device import resolve_device
from training.loop import FitResult, TrainingDiverged, fit
from training.plots import plane_classifier, point_labels
from training.predict import NetworkCard, WeightsInfo, network_card, weights_bytes
from training.run import TrainingRun, build_run
from training.spec import TrainingSpec
from training.summary import summarize
from worker.attempt import AttemptControl, Heartbeat
from worker.db_sink import DbMetricSink

log = logging.getLogger(__name__)

# training points kept for the decision-boundary plot
MAX_PLOT_POINTS = 5000
# how long the last writes of an attempt keep retrying while the database is away
FINAL_WRITE_SECONDS = 120.0

T = TypeVar("T")


def _retrying(action: Callable[[], T], *, job_id: uuid.UUID, what: str) -> T:
    """action(), retried with backoff while the database refuses; LeaseLost passes through."""
    deadline = time.monotonic() + FINAL_WRITE_SECONDS
    delay = 0.25
    while True:
        try:
            return action()
        except DBAPIError as exc:
            if not database_unavailable(exc) or time.monotonic() >= deadline:
                raise
            log.warning("job=%s event=retry what=%s delay=%.2f", job_id, what, delay)
            time.sleep(delay)
            delay = min(delay * 2, 5.0)


def _claim(engine: Engine, job_id: uuid.UUID) -> int | None:
    with session_scope(engine) as session:
        return jobs.claim(
            session,
            job_id=job_id,
            worker=socket.gethostname(),
            lease_seconds=get_settings().LEASE_SECONDS,
        )


def _load_job(engine: Engine, job_id: uuid.UUID) -> Job:
    with session_scope(engine) as session:
        job = session.get_one(Job, job_id)
        session.expunge(job)
        return job


def _resume_state(
    engine: Engine, sink: DbMetricSink, job: Job, device: torch.device
) -> dict[str, object] | None:
    """The checkpoint the job names, or None; a missing one restarts the job from epoch 0."""
    if not job.checkpoint_epoch:
        return None
    state = checkpoint.read(artifacts.checkpoint_path(job.id, job.checkpoint_epoch), device)
    if state is not None and state["epoch"] == job.checkpoint_epoch:
        return state
    log.warning("job=%s event=checkpoint_missing epoch=%d", job.id, job.checkpoint_epoch)
    with session_scope(engine) as session:
        leases.hold(
            session,
            job_id=job.id,
            attempt=sink.attempt,
            lease_seconds=sink.lease_seconds,
            checkpoint_epoch=0,
            current_epoch=0,
        )
        jobs.forget_after(session, job_id=job.id, epoch=0)
        jobs.add_event(
            session, job_id=job.id, kind="checkpoint_missing", epoch=job.checkpoint_epoch
        )
    return None


def _fit(
    engine: Engine, sink: DbMetricSink, job: Job, spec: TrainingSpec
) -> tuple[TrainingRun, FitResult]:
    settings = get_settings()
    device = resolve_device(spec.training.device)
    run = build_run(spec, device, settings.DATA_DIR)
    resume = _resume_state(engine, sink, job, device)
    seconds_left = None if job.max_runtime_s is None else job.max_runtime_s - job.run_seconds
    control = AttemptControl(
        sink,
        job_id=job.id,
        checkpoint_every=spec.training.checkpoint_every,
        checkpoint_min_seconds=settings.CHECKPOINT_MIN_SECONDS,
        seconds_left=seconds_left,
    )
    return run, fit(run, sink, control, resume_from=resume)


def _save_weights(
    job_id: uuid.UUID,
    card: NetworkCard,
    which: artifacts.Which,
    state: Mapping[str, torch.Tensor],
    epoch: int,
) -> None:
    data = weights_bytes(state, card, which)
    sha256 = artifacts.write_bytes(job_id, artifacts.WEIGHTS[which], data)
    card.weights[which] = WeightsInfo(epoch=epoch, sha256=sha256, bytes=len(data))


def save_results(
    job_id: uuid.UUID, spec: TrainingSpec, run: TrainingRun, result: FitResult
) -> None:
    """Final and best weights, the network card and summary, and points to plot, on disk."""
    card = network_card(spec, run.train)
    _save_weights(job_id, card, "final", run.network.state_dict(), result.epochs_completed)
    if result.best_state is not None:
        _save_weights(job_id, card, "best", result.best_state, result.best_epoch)
    summary = summarize(run.network, run.train.sample_shape)
    artifacts.write_json(job_id, artifacts.SUMMARY, summary.model_dump(mode="json"))
    if plane_classifier(card):
        x, y = run.train.x[:MAX_PLOT_POINTS].cpu(), run.train.y[:MAX_PLOT_POINTS].cpu()
        found = point_labels(y, card)
        if found is not None:
            points = {"x": x.contiguous(), "labels": found.contiguous()}
            artifacts.write_bytes(job_id, artifacts.POINTS, bytes(save_tensors(points)))
    # the card last: its presence says every other artifact is in place
    artifacts.write_json(job_id, artifacts.NETWORK, card.model_dump(mode="json"))


STATUS_OF = {
    "cancelled": JobStatus.CANCELLED,
    "max_runtime_exceeded": JobStatus.CANCELLED,
    "paused": JobStatus.PAUSED,
}


def _outcome(result: FitResult, seconds: float) -> Outcome:
    return Outcome(
        status=STATUS_OF.get(result.stop_reason, JobStatus.SUCCEEDED),
        stop_reason=result.stop_reason,
        epoch=result.epochs_completed,
        final_metrics=result.last_metrics | result.test_metrics,
        best_epoch=result.best_epoch or None,
        best_metrics=result.best_metrics or None,
        run_seconds=seconds,
    )


def _failure(reason: str, error: str, epoch: int | None = None, seconds: float = 0.0) -> Outcome:
    return Outcome(
        status=JobStatus.FAILED, stop_reason=reason, epoch=epoch, error=error, run_seconds=seconds
    )


def failure_for(exc: Exception, seconds: float = 0.0) -> Outcome:
    """How an exception out of an attempt ends the job; none of these is retried."""
    if isinstance(exc, ValidationError):
        return _failure("invalid_spec", f"stored spec is no longer valid: {exc}", None, seconds)
    if isinstance(exc, TrainingDiverged):
        return _failure(exc.reason, f"{exc.reason}: {exc}", exc.epoch, seconds)
    if isinstance(exc, torch.cuda.OutOfMemoryError):
        return _failure("cuda_oom", f"CUDA out of memory: {exc}", None, seconds)
    return _failure("error", f"{type(exc).__name__}: {exc}", None, seconds)


def _attempt(engine: Engine, job_id: uuid.UUID, attempt: int) -> Outcome | None:
    """Train; the outcome to record, or None when the lease was lost (nothing more to write)."""
    started = time.monotonic()
    job = _load_job(engine, job_id)
    settings = get_settings()
    sink = DbMetricSink(
        job_id,
        engine=engine,
        flush_seconds=settings.METRICS_FLUSH_SECONDS,
        attempt=attempt,
        lease_seconds=settings.LEASE_SECONDS,
    )
    heartbeat = Heartbeat(sink, renew_seconds=settings.HEARTBEAT_SECONDS)
    try:
        spec = TrainingSpec.model_validate(job.spec)
        # from the claim on: building the run and loading a checkpoint take time too
        with heartbeat:
            run, result = _fit(engine, sink, job, spec)
        if result.stop_reason == "lease_lost":
            return None
        _retrying(sink.flush, job_id=job_id, what="metrics")
        if result.stop_reason != "paused":
            save_results(job_id, spec, run, result)
        return _outcome(result, time.monotonic() - started)
    except LeaseLost:
        return None
    except Exception as exc:
        if not isinstance(exc, ValidationError | TrainingDiverged):
            log.exception("job=%s attempt=%d event=error", job_id, attempt)
        try:
            # epochs already trained are kept whatever happened
            _retrying(sink.flush, job_id=job_id, what="metrics")
        except LeaseLost:
            return None
        return failure_for(exc, time.monotonic() - started)


def run_job(job_id: uuid.UUID, engine: Engine | None = None) -> None:
    """Claim this job and run it to its end; a job that is not queued is left alone."""
    engine = engine or get_engine()
    attempt = _claim(engine, job_id)
    if attempt is None:
        log.info("job=%s event=not_claimable", job_id)
        return
    _run_attempt(engine, job_id, attempt)


def run_next(engine: Engine | None = None) -> uuid.UUID | None:
    """Run the first job in fair order this worker can take (core.scheduling); its id.

    A wake-up message names a job, but the worker runs whichever job is next in line.
    """
    engine = engine or get_engine()
    with session_scope(engine) as session:
        candidates = scheduling.claimable_ids(
            session, now=datetime.now(UTC), has_cuda=torch.cuda.is_available()
        )
    for job_id in candidates:
        attempt = _claim(engine, job_id)
        if attempt is not None:
            _run_attempt(engine, job_id, attempt)
            return job_id
    return None


def _run_attempt(engine: Engine, job_id: uuid.UUID, attempt: int) -> None:
    log.info("job=%s attempt=%d event=started", job_id, attempt)
    outcome = _attempt(engine, job_id, attempt)
    if outcome is None:
        log.warning("job=%s attempt=%d event=lease_lost", job_id, attempt)
        return
    finished = _retrying(
        lambda: _finish(engine, job_id, attempt, outcome), job_id=job_id, what="finish"
    )
    if finished and outcome.status != JobStatus.PAUSED:
        artifacts.remove_checkpoints(job_id)
    log.info(
        "job=%s attempt=%d event=%s reason=%s recorded=%s",
        job_id,
        attempt,
        outcome.status.value,
        outcome.stop_reason,
        finished,
    )


def _finish(engine: Engine, job_id: uuid.UUID, attempt: int, outcome: Outcome) -> bool:
    with session_scope(engine) as session:
        return jobs.finish(session, job_id=job_id, attempt=attempt, outcome=outcome)
