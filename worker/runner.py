"""run_job: claim -> build -> fit -> finish, each database step in its own short transaction."""

import logging
import socket
import uuid
from collections.abc import Mapping

import torch
from pydantic import ValidationError
from safetensors.torch import save as save_tensors
from sqlalchemy import Engine

from core import artifacts, jobs
from core.db import get_engine, session_scope
from core.jobs import Outcome
from core.settings import get_settings
from models import Job, JobStatus
from training.device import resolve_device
from training.loop import FitResult, TrainingDiverged, fit
from training.plots import plane_classifier, point_labels
from training.predict import NetworkCard, WeightsInfo, network_card, weights_bytes
from training.run import TrainingRun, build_run
from training.spec import TrainingSpec
from training.summary import summarize
from worker.db_sink import DbMetricSink

log = logging.getLogger(__name__)

# training points kept for the decision-boundary plot
MAX_PLOT_POINTS = 5000


def _claim(engine: Engine, job_id: uuid.UUID) -> bool:
    with session_scope(engine) as session:
        return jobs.claim(session, job_id=job_id, worker=socket.gethostname())


def _load_spec(engine: Engine, job_id: uuid.UUID) -> TrainingSpec:
    with session_scope(engine) as session:
        return TrainingSpec.model_validate(session.get_one(Job, job_id).spec)


def _train(engine: Engine, job_id: uuid.UUID, spec: TrainingSpec) -> tuple[TrainingRun, FitResult]:
    sink = DbMetricSink(job_id, engine=engine, flush_seconds=get_settings().METRICS_FLUSH_SECONDS)
    try:
        run = build_run(spec, resolve_device(spec.training.device), get_settings().DATA_DIR)
        return run, fit(run, sink, should_stop=sink.cancel_requested)
    finally:
        sink.flush()  # epochs already trained are kept whatever happens next


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
        spec = _load_spec(engine, job_id)
        run, result = _train(engine, job_id, spec)
        save_results(job_id, spec, run, result)
        outcome = _outcome(result)
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
