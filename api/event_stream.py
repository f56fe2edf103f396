"""A job's live Server-Sent Events: new epochs and job events, resumable, ending with the job."""

import heapq
import json
import math
import re
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from itertools import takewhile
from typing import Any

import anyio.to_thread
from fastapi import Request
from sqlalchemy import select

from api.schemas.metrics import EventRead, epoch_item
from core import metrics
from core.db import session_factory
from core.metrics import ParameterRejected
from core.settings import get_settings
from models import FINISHED_STATUSES, Job, JobEvent

BATCH = 500
KEEPALIVE_SECONDS = 15.0
RETRY_MS = 2000
# events without an epoch: these lead the epochs, any other (a failure, a cancel) trails them
LEADING_KINDS = frozenset({"queued", "started"})


@dataclass(frozen=True)
class Cursor:
    """Where a client is: the last epoch and the last job event it has received."""

    epoch: int = 0
    event_id: int = 0

    def __str__(self) -> str:
        return f"{self.epoch}-{self.event_id}"


def parse_cursor(value: str | None) -> Cursor:
    """The cursor of a Last-Event-ID header as this stream sends it: <epoch>-<event id>."""
    if value is None or not value.strip():
        return Cursor()
    found = re.fullmatch(r"(\d{1,9})-(\d{1,18})", value.strip())
    if found is None:
        raise ParameterRejected(
            "Last-Event-ID", f"{value!r} is not an id this stream sent", location="header"
        )
    return Cursor(int(found[1]), int(found[2]))


@dataclass
class _Poll:
    messages: list[str]
    cursor: Cursor
    more: bool
    end: dict[str, Any] | None


def _message(event: str, data: Any, cursor: Cursor) -> str:
    payload = json.dumps(data, separators=(",", ":"), allow_nan=False, default=str)
    return f"id: {cursor}\nevent: {event}\ndata: {payload}\n\n"


def _event_key(event: JobEvent) -> tuple[float, int]:
    if event.epoch is not None:
        return event.epoch, 1
    return (0 if event.kind in LEADING_KINDS else math.inf), 1


def _poll(job_id: uuid.UUID, cursor: Cursor) -> _Poll:
    """Everything after cursor, epochs and events merged by epoch, each keeping its own order."""
    with session_factory()() as session:
        job = session.execute(
            select(Job.status, Job.stop_reason, Job.error).where(Job.id == job_id)
        ).one_or_none()
        if job is None:
            return _Poll([], cursor, False, {"status": "deleted"})
        finished = job.status in FINISHED_STATUSES
        # job, then events, then epochs: each read sees at least what the one before it saw,
        # so an event never runs ahead of its epoch and a finished job is read in full
        events = metrics.read_events(session, job_id=job_id, after_id=cursor.event_id, limit=BATCH)
        rows = metrics.read_epochs(session, job_id=job_id, since_epoch=cursor.epoch, limit=BATCH)
        if len(rows) == BATCH:  # later epochs wait for the next poll: so do their events
            events = list(takewhile(lambda e: _event_key(e)[0] <= rows[-1]["epoch"], events))
        event_items = [EventRead.model_validate(event).model_dump(mode="json") for event in events]
    keyed = heapq.merge(
        (((row["epoch"], 0), "epoch", row) for row in rows),
        (
            (_event_key(event), event.kind, item)
            for event, item in zip(events, event_items, strict=True)
        ),
        key=lambda entry: entry[0],
    )
    messages = []
    for _, kind, data in keyed:
        if kind == "epoch":
            cursor = Cursor(data["epoch"], cursor.event_id)
            messages.append(_message("epoch", epoch_item(data), cursor))
        else:
            cursor = Cursor(cursor.epoch, data["id"])
            messages.append(_message(kind, data, cursor))
    more = len(rows) == BATCH or len(events) == BATCH
    end = None
    if finished and not more:
        end = {"status": job.status.value, "stop_reason": job.stop_reason, "error": job.error}
    return _Poll(messages, cursor, more, end)


async def event_stream(request: Request, job_id: uuid.UUID, cursor: Cursor) -> AsyncIterator[str]:
    """Poll the database every EVENTS_POLL_SECONDS until the job ends or the client leaves."""
    interval = get_settings().EVENTS_POLL_SECONDS
    yield f"retry: {RETRY_MS}\n\n"
    quiet_since = time.monotonic()
    while not await request.is_disconnected():
        poll = await anyio.to_thread.run_sync(_poll, job_id, cursor)
        cursor = poll.cursor
        for message in poll.messages:
            yield message
        if poll.end is not None:
            yield _message("end", poll.end, cursor)
            return
        if poll.messages:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since > KEEPALIVE_SECONDS:
            yield ": keep-alive\n\n"
            quiet_since = time.monotonic()
        if not poll.more:
            await anyio.sleep(interval)
