"""k-fold cross-validation: a parent job, one child training job per fold, and their summary.

The parent is never claimed by a worker: it is running from creation until its last child
ends, then holds the mean and spread of the children's final metrics.
"""

import copy
import math
import statistics
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import jobs
from core.errors import JobNotCancellable
from models import FINISHED_STATUSES, Job, JobKind, JobStatus


def _now() -> datetime:
    return datetime.now(UTC)


def fold_spec(spec_json: dict[str, Any], fold: int) -> dict[str, Any]:
    """The spec of the child job that validates on fold."""
    spec = copy.deepcopy(spec_json)
    spec["dataset"]["split"]["fold"] = fold
    return spec


def create(
    session: Session,
    *,
    owner_id: uuid.UUID,
    name: str | None,
    spec_json: dict[str, Any],
    **job_options: Any,
) -> tuple[Job, list[Job]]:
    """The running parent and its queued children; the caller commits, then enqueues each child.

    job_options are those of core.jobs.create (dataset_id, priority, max_attempts,
    max_runtime_s) and apply to every child.
    """
    folds = int(spec_json["dataset"]["split"]["folds"])
    epochs = int(spec_json["training"]["epochs"])
    parent = Job(
        owner_id=owner_id,
        name=name,
        spec=spec_json,
        epochs=epochs,
        kind=JobKind.CROSS_VALIDATION,
        status=JobStatus.RUNNING,
        started_at=_now(),
        dataset_id=job_options.get("dataset_id"),
        priority=job_options.get("priority", 0),
        device=jobs.spec_device(spec_json),
    )
    session.add(parent)
    session.flush()
    jobs.add_event(session, job_id=parent.id, kind="cross_validation_started", folds=folds)
    children = []
    for fold in range(folds):
        child = jobs.create(
            session,
            owner_id=owner_id,
            name=f"{name} fold {fold}" if name else f"fold {fold}",
            spec=fold_spec(spec_json, fold),
            epochs=epochs,
            **job_options,
        )
        child.kind, child.parent_id, child.fold = JobKind.TRAIN, parent.id, fold
        children.append(child)
    session.flush()
    return parent, children


def children_of(session: Session, *, parent_id: uuid.UUID) -> list[Job]:
    """The parent's child jobs in fold order."""
    query = select(Job).where(Job.parent_id == parent_id).order_by(Job.fold)
    # fresh rows: a child may have finished in a transaction committed since they were loaded
    return list(session.scalars(query.execution_options(populate_existing=True)))


def _locked_parent(session: Session, parent_id: uuid.UUID) -> Job | None:
    """The parent row, locked until commit on PostgreSQL; SQLite serialises writers anyway.

    Two children finishing at once then settle the parent one after the other, and the second
    sees the first child's committed status.
    """
    query = select(Job).where(Job.id == parent_id).with_for_update()
    return session.scalars(query.execution_options(populate_existing=True)).one_or_none()


def child_finished(session: Session, *, child_id: uuid.UUID) -> None:
    """Settle the child's parent once every child has finished; call after recording the child."""
    child = session.get_one(Job, child_id)
    if child.parent_id is None:
        return
    parent = _locked_parent(session, child.parent_id)
    if parent is not None:
        _settle(session, parent)


def _settle(session: Session, parent: Job) -> None:
    if parent.status in FINISHED_STATUSES:
        return
    children = children_of(session, parent_id=parent.id)
    if not children or any(child.status not in FINISHED_STATUSES for child in children):
        return
    status, error = _outcome(children)
    parent.status, parent.error, parent.finished_at = status, error, _now()
    parent.stop_reason = "folds_finished"
    parent.final_metrics = summarize(children)
    data = {"reason": "folds_finished"} | ({"error": error} if error else {})
    jobs.add_event(session, job_id=parent.id, kind=status.value, epoch=None, **data)
    session.flush()


def _outcome(children: list[Job]) -> tuple[JobStatus, str | None]:
    failed = [child for child in children if child.status == JobStatus.FAILED]
    if failed:
        folds = ", ".join(str(child.fold) for child in failed)
        reasons = "; ".join(f"fold {child.fold}: {child.error}" for child in failed)
        return JobStatus.FAILED, f"folds {folds} failed ({reasons})"
    if any(child.status == JobStatus.CANCELLED for child in children):
        return JobStatus.CANCELLED, None
    return JobStatus.SUCCEEDED, None


def _numeric(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def summarize(children: list[Job]) -> dict[str, Any]:
    """<key>_mean and <key>_std of every numeric final metric the succeeded folds all have.

    The std is the population standard deviation (divided by the number of folds, not by one
    fewer), so a single succeeded fold has a spread of 0. fold_metrics lists every fold's final
    metrics in fold order, null for a fold that left none.
    """
    succeeded = [c.final_metrics or {} for c in children if c.status == JobStatus.SUCCEEDED]
    first = succeeded[0] if succeeded else {}
    keys = [key for key in first if all(_numeric(m.get(key)) for m in succeeded)]
    summary: dict[str, Any] = {}
    for key in keys:
        values = [float(metrics[key]) for metrics in succeeded]
        summary[f"{key}_mean"] = statistics.fmean(values)
        summary[f"{key}_std"] = statistics.pstdev(values)
    summary["folds"] = len(children)
    summary["fold_metrics"] = [child.final_metrics for child in children]
    return summary


def cancel(session: Session, *, parent: Job) -> Job:
    """Cancel every unfinished child; the parent ends with its last child."""
    if parent.status in FINISHED_STATUSES:
        raise JobNotCancellable(f"job {parent.id} already {parent.status.value}")
    parent.cancel_requested = True
    jobs.add_event(session, job_id=parent.id, kind="cancel_requested")
    for child in children_of(session, parent_id=parent.id):
        if child.status not in FINISHED_STATUSES:
            jobs.request_cancel(session, job=child)
    session.flush()
    _settle(session, parent)
    return parent
