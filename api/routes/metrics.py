"""Per-epoch metrics of a job: windows, downsampled series, summaries, comparisons, events."""

import csv
import io
import json
import uuid
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from api.caching import cached_response, etag_of, remember
from api.deps import CurrentUser, SessionDep
from api.errors import error_responses
from api.event_stream import Cursor, event_stream, parse_cursor
from api.schemas.metrics import (
    ComparisonRead,
    EventRead,
    KeySummaryRead,
    MetricsRead,
    MetricsSummaryRead,
    SeriesRead,
)
from core import jobs, metrics, series
from core.errors import JobNotFound, NotAuthenticated
from core.metrics import LR, LR_PREFIX, ParameterRejected
from models import FINISHED_STATUSES, Job, JobEvent, User

router = APIRouter(tags=["metrics"], responses=error_responses(NotAuthenticated))

MAX_POINTS = 10_000
MAX_LIMIT = 100_000
DEFAULT_LIMIT = 10_000
MAX_COMPARED_JOBS = 20

Format = Literal["json", "csv"]
KeysQuery = Annotated[
    str | None,
    Query(description="comma-separated series, e.g. train_loss,val_loss,lr (lr: every group)"),
]
MaxPointsQuery = Annotated[
    int | None,
    Query(ge=2, le=MAX_POINTS, description="downsample to about this many epochs"),
]
StartQuery = Annotated[int, Query(ge=1, description="first epoch of the range")]
EndQuery = Annotated[int | None, Query(ge=1, description="last epoch of the range")]


def _json(body: Any) -> bytes:
    return json.dumps(body, separators=(",", ":"), allow_nan=False).encode()


def _layout(keys: Sequence[str]) -> tuple[list[str], list[str]]:
    """The plain keys in stored order and the lr/<group> keys by group, as epoch_item has them."""
    lrs = sorted((key for key in keys if key.startswith(LR_PREFIX)), key=lambda k: int(k[3:]))
    return [key for key in keys if not key.startswith(LR_PREFIX)], lrs


def _items(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """epoch_item of every row; the layout is worked out once per set of keys, not per row."""
    layouts: dict[tuple[str, ...], tuple[list[str], list[str]]] = {}
    items = []
    for row in rows:
        keys = tuple(row)
        if (layout := layouts.get(keys)) is None:
            layout = layouts[keys] = _layout(keys)
        plain, lrs = layout
        item = {key: row[key] for key in plain}
        if lrs:
            item[LR] = [row[key] for key in lrs]
        items.append(item)
    return items


def _split(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def _columns(rows: Sequence[dict[str, Any]], keys: Sequence[str] | None) -> list[str]:
    present = keys or sorted({key for row in rows for key in row} - {"epoch"})
    lrs = sorted((key for key in present if key.startswith(LR_PREFIX)), key=lambda k: int(k[3:]))
    return [*(key for key in present if not key.startswith(LR_PREFIX)), *lrs]


def _csv(rows: Sequence[dict[str, Any]], keys: Sequence[str] | None) -> bytes:
    columns = _columns(rows, keys)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["epoch", *columns])
    for row in rows:
        writer.writerow([row["epoch"], *(_cell(row.get(key)) for key in columns)])
    return out.getvalue().encode()


def _cell(value: float | None) -> str:
    return "" if value is None else repr(value)


def _window(
    since_epoch: int, start_epoch: int, end_epoch: int | None, last: int, limit: int | None
) -> tuple[int, int]:
    """The stored epochs first..last the query covers (first > last when none)."""
    if end_epoch is not None and end_epoch < start_epoch:
        raise ParameterRejected("end_epoch", f"must be at least start_epoch ({start_epoch})")
    first = max(since_epoch + 1, start_epoch)
    stop = min(last, end_epoch or last)
    return first, stop if limit is None else min(stop, first + limit - 1)


def _read(
    session: Session,
    job_id: uuid.UUID,
    window: tuple[int, int],
    keys: list[str] | None,
    max_points: int | None,
) -> list[dict[str, Any]]:
    first, last = window
    if first > last:
        return []
    if max_points is None or last - first + 1 <= max_points:
        return metrics.read_range(session, job_id=job_id, first=first, last=last, keys=keys)
    selected = keys or metrics.recorded_keys(session, job_id=job_id)
    return series.read_downsampled(
        session, job_id=job_id, first=first, last=last, keys=selected, max_points=max_points
    )


def _selected(session: Session, job_id: uuid.UUID, keys: str | None) -> list[str] | None:
    requested = _split(keys)
    if not requested:
        return None
    return metrics.select_keys(requested, metrics.recorded_keys(session, job_id=job_id))


@router.get(
    "/jobs/{job_id}/metrics",
    response_model=MetricsRead,
    responses={
        **error_responses(JobNotFound, ParameterRejected),
        200: {"content": {"text/csv": {}}},
        304: {"description": "unchanged since the ETag sent in If-None-Match"},
    },
)
def read_job_metrics(
    job_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    keys: KeysQuery = None,
    since_epoch: Annotated[int, Query(ge=0, description="only epochs after this one")] = 0,
    start_epoch: StartQuery = 1,
    end_epoch: EndQuery = None,
    limit: Annotated[
        int | None,
        Query(ge=1, le=MAX_LIMIT, description="most epochs; default 10,000 unless max_points"),
    ] = None,
    max_points: MaxPointsQuery = None,
    format: Format = "json",
) -> Response:
    """Epochs after since_epoch, oldest first; downsampled keeping every bucket's extremes."""
    last = metrics.owned_last_epoch(session, job_id=job_id, user=user)
    if limit is None and max_points is None:
        limit = DEFAULT_LIMIT
    window = _window(since_epoch, start_epoch, end_epoch, last, limit)
    etag = etag_of("metrics", job_id, last, keys, window, max_points, format)
    if cached := cached_response(request, etag):
        return cached
    selected = _selected(session, job_id, keys)
    rows = _read(session, job_id, window, selected, max_points)
    next_since = window[1] if window[0] <= window[1] else since_epoch
    if format == "csv":
        return remember(
            etag, _csv(rows, selected), "text/csv", {"X-Next-Since-Epoch": str(next_since)}
        )
    body = {"items": _items(rows), "next_since_epoch": next_since}
    return remember(etag, _json(body), "application/json")


def _summary_read(summary: series.KeySummary) -> KeySummaryRead:
    extremes = summary.extremes
    return KeySummaryRead(
        last=summary.last,
        last_epoch=summary.last_epoch,
        min=extremes.min if extremes else None,
        min_epoch=extremes.min_epoch if extremes else None,
        max=extremes.max if extremes else None,
        max_epoch=extremes.max_epoch if extremes else None,
    )


@router.get(
    "/jobs/{job_id}/metrics/summary",
    response_model=MetricsSummaryRead,
    responses=error_responses(JobNotFound, ParameterRejected),
)
def read_job_metrics_summary(
    job_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    keys: KeysQuery = None,
) -> Response:
    """Per series: the last value, the minimum and the maximum with their epochs."""
    last = metrics.owned_last_epoch(session, job_id=job_id, user=user)
    etag = etag_of("summary", job_id, last, keys)
    if cached := cached_response(request, etag):
        return cached
    selected = _selected(session, job_id, keys)
    summary = series.summarize(session, job_id=job_id, upto=last)
    body = MetricsSummaryRead(
        epochs=last,
        keys={
            key: _summary_read(value)
            for key, value in sorted(summary.items())
            if selected is None or key in selected
        },
    )
    return remember(etag, body.model_dump_json().encode(), "application/json")


def _job_ids(value: str) -> list[uuid.UUID]:
    ids: list[uuid.UUID] = []
    for part in _split(value):
        try:
            job_id = uuid.UUID(part)
        except ValueError:
            raise ParameterRejected("job_ids", f"{part!r} is not a job id") from None
        if job_id not in ids:
            ids.append(job_id)
    if not 1 <= len(ids) <= MAX_COMPARED_JOBS:
        raise ParameterRejected("job_ids", f"name 1 to {MAX_COMPARED_JOBS} jobs, comma-separated")
    return ids


def _compared_key(session: Session, compared: list[Job], key: str) -> str:
    """The stored key (lr means the first group's); some compared job must record it."""
    stored = f"{LR_PREFIX}0" if key == LR else key
    recorded = {k for job in compared for k in metrics.recorded_keys(session, job_id=job.id)}
    if recorded and stored not in recorded:
        known = ", ".join(sorted(recorded))
        raise ParameterRejected("key", f"none of these jobs records {key!r}; they record: {known}")
    return stored


def _owned(session: Session, job_ids: list[uuid.UUID], user: User) -> list[Job]:
    return [jobs.get_for_owner(session, job_id=job_id, user=user) for job_id in job_ids]


@router.get(
    "/metrics",
    response_model=ComparisonRead,
    responses={
        **error_responses(JobNotFound, ParameterRejected),
        200: {"content": {"text/csv": {}}},
    },
)
def compare_metrics(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    job_ids: Annotated[str, Query(description="comma-separated ids of the jobs to compare")],
    key: Annotated[str, Query(description="one series, e.g. val_loss; lr is lr/0")],
    max_points: Annotated[int, Query(ge=2, le=MAX_POINTS)] = 1000,
    start_epoch: StartQuery = 1,
    end_epoch: EndQuery = None,
    format: Format = "json",
) -> Response:
    """One series of several jobs side by side, each downsampled to about max_points."""
    compared = _owned(session, _job_ids(job_ids), user)
    lasts = [metrics.last_epoch(session, job_id=job.id) for job in compared]
    states = [(job.id, job.status, last) for job, last in zip(compared, lasts, strict=True)]
    etag = etag_of("compare", states, key, max_points, start_epoch, end_epoch, format)
    if cached := cached_response(request, etag):
        return cached
    stored = _compared_key(session, compared, key)
    series = []
    for job, last in zip(compared, lasts, strict=True):
        window = _window(0, start_epoch, end_epoch, last, None)
        rows = [
            row for row in _read(session, job.id, window, [stored], max_points) if stored in row
        ]
        epochs, values = [row["epoch"] for row in rows], [row[stored] for row in rows]
        series.append(
            SeriesRead(
                job_id=job.id, name=job.name, status=job.status, epochs=epochs, values=values
            )
        )
    if format == "csv":
        lines = ["job_id,epoch,value"]
        lines += [
            f"{s.job_id},{e},{_cell(v)}"
            for s in series
            for e, v in zip(s.epochs, s.values, strict=True)
        ]
        return remember(etag, ("\n".join(lines) + "\n").encode(), "text/csv")
    body = ComparisonRead(key=stored, series=series).model_dump_json().encode()
    return remember(etag, body, "application/json")


def _wants_stream(format: str | None, accept: str | None) -> bool:
    if format is not None:
        return format == "sse"
    return "text/event-stream" in (accept or "")


def _nothing_after(session: Session, job: Job, cursor: Cursor) -> bool:
    if metrics.last_epoch(session, job_id=job.id) > cursor.epoch:
        return False
    return not metrics.read_events(session, job_id=job.id, after_id=cursor.event_id, limit=1)


@router.get(
    "/jobs/{job_id}/events",
    response_model=list[EventRead],
    responses={
        **error_responses(JobNotFound, ParameterRejected),
        200: {"content": {"text/event-stream": {}}},
        204: {"description": "the stream of a finished job has nothing after Last-Event-ID"},
    },
)
def read_job_events(
    job_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    after_id: Annotated[int, Query(ge=0)] = 0,
    format: Annotated[
        Literal["json", "sse"] | None,
        Query(description="json (the default) or sse; Accept: text/event-stream also asks for sse"),
    ] = None,
    last_event_id: Annotated[
        str | None, Header(description="resume a stream after this event")
    ] = None,
) -> list[JobEvent] | Response:
    """The job's events, oldest first; or a live stream of its epochs and events until it ends."""
    job = jobs.get_for_owner(session, job_id=job_id, user=user)
    if not _wants_stream(format, request.headers.get("accept")):
        return metrics.read_events(session, job_id=job_id, after_id=after_id)
    cursor = parse_cursor(last_event_id)
    if last_event_id and job.status in FINISHED_STATUSES and _nothing_after(session, job, cursor):
        return Response(status_code=204)  # tells EventSource not to reconnect
    session.rollback()  # hold no transaction open while the stream runs
    return StreamingResponse(
        event_stream(request, job_id, cursor),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
