"""Job: one training job on the server; follow it, read its metrics, stream it, cancel it."""

import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import httpx

from gradq_client.epochs import epochs_to_csv, flatten_epoch
from gradq_client.errors import ServerUnreachable, Unsupported
from gradq_client.sse import parse_events

if TYPE_CHECKING:
    import pandas

    from gradq_client.client import Client

API = "/api/v1"
METRICS_PAGE = 10_000
STREAM_TIMEOUT = httpx.Timeout(10.0, read=90.0)

Which = Literal["final", "best"]
# called after every poll with the job as now read and the epochs that arrived since the last one
ProgressCallback = Callable[["Job", list[dict[str, Any]]], None]


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    PAUSED = "paused"


FINISHED = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED})


@dataclass(frozen=True)
class StreamEvent:
    """One event of a job's live stream: `event` names it, `data` is its decoded JSON."""

    event: str
    data: Any
    id: str | None


def _datetime(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


class Job:
    """A job as last read from the server; `refresh()` reads it again.

    The raw JSON is `data`; the properties below are its common fields.
    """

    def __init__(self, client: "Client", data: dict[str, Any]) -> None:
        self.client = client
        self.data = data

    def __repr__(self) -> str:
        return f"Job(id={self.id!r}, name={self.name!r}, status={self.status.value!r})"

    @property
    def id(self) -> str:
        return str(self.data["id"])

    @property
    def name(self) -> str | None:
        return self.data.get("name")

    @property
    def status(self) -> JobStatus:
        return JobStatus(self.data["status"])

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @property
    def epochs(self) -> int:
        return int(self.data.get("epochs", 0))

    @property
    def current_epoch(self) -> int:
        return int(self.data.get("current_epoch", 0))

    @property
    def error(self) -> str | None:
        return self.data.get("error")

    @property
    def stop_reason(self) -> str | None:
        return self.data.get("stop_reason")

    @property
    def final_metrics(self) -> dict[str, Any]:
        return self.data.get("final_metrics") or {}

    @property
    def best_epoch(self) -> int | None:
        return self.data.get("best_epoch")

    @property
    def warnings(self) -> list[str]:
        """Things that will train but look wrong; only a job just submitted carries them."""
        return list(self.data.get("warnings") or [])

    @property
    def created_at(self) -> datetime | None:
        return _datetime(self.data.get("created_at"))

    @property
    def started_at(self) -> datetime | None:
        return _datetime(self.data.get("started_at"))

    @property
    def finished_at(self) -> datetime | None:
        return _datetime(self.data.get("finished_at"))

    @property
    def queue_position(self) -> int | None:
        """While queued: 1 runs next (as of the last read)."""
        return self.data.get("queue_position")

    @property
    def estimated_start_at(self) -> datetime | None:
        """While queued: when the server expects it to start, if it can tell."""
        return _datetime(self.data.get("estimated_start_at"))

    @property
    def _path(self) -> str:
        return f"{API}/jobs/{self.id}"

    def refresh(self) -> "Job":
        """Read the job again; returns self."""
        warnings = self.data.get("warnings")
        self.data = self.client.get_json(self._path)
        if warnings is not None:
            self.data["warnings"] = warnings
        return self

    def cancel(self) -> "Job":
        """Cancel: a queued job never starts, a running one stops after its current epoch."""
        self.data = self.client.request("POST", f"{self._path}/cancel").json()
        return self

    def pause(self) -> "Job":
        """Pause: a queued job leaves the queue, a running one checkpoints and stops."""
        self.data = self.client.request("POST", f"{self._path}/pause").json()
        return self

    def resume(self) -> "Job":
        """Put a paused job back in the queue; it continues from its last checkpoint."""
        self.data = self.client.request("POST", f"{self._path}/resume").json()
        return self

    def clone(
        self,
        overrides: Mapping[str, Any] | None = None,
        *,
        name: str | None = None,
        priority: int | None = None,
        max_runtime_s: int | None = None,
    ) -> "Job":
        """Queue a copy of this job with its spec changed by overrides; returns the new job.

        Args:
            overrides: merged into the spec: mappings key by key, anything else replaced, e.g.
                {"optimizer": {"lr": 0.001}, "training": {"epochs": 50}}.
            name, priority, max_runtime_s: this job's unless given.
        """
        body: dict[str, Any] = {"overrides": dict(overrides or {})}
        given = {"name": name, "priority": priority, "max_runtime_s": max_runtime_s}
        body |= {key: value for key, value in given.items() if value is not None}
        return Job(
            self.client, self.client.request("POST", f"{self._path}/clone", json=body).json()
        )

    def wait(
        self,
        *,
        progress: bool | ProgressCallback = False,
        poll_interval: float = 0.5,
        timeout: float | None = None,
    ) -> "Job":
        """Poll until the job has finished and return it (check `status`; nothing is raised).

        Args:
            progress: True draws a progress bar (epochs, latest loss and lr) on stderr; a
                callable is called after every poll with the job and the epochs that arrived.
            poll_interval: seconds between polls.
            timeout: give up with TimeoutError after this many seconds (the job runs on).
        """
        if progress is True:
            from gradq_client.progress import ProgressBar

            with ProgressBar() as bar:
                return self._follow(bar, poll_interval, timeout)
        return self._follow(progress or None, poll_interval, timeout)

    def _follow(
        self, report: ProgressCallback | None, poll_interval: float, timeout: float | None
    ) -> "Job":
        deadline = None if timeout is None else time.monotonic() + timeout
        since = max(0, self.current_epoch - 1)
        while True:
            self.refresh()
            if report is not None:
                new, since = self._metrics_since(since)
                report(self, new)
            if self.finished:
                return self
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"job {self.id} is still {self.status.value}")
            time.sleep(poll_interval)

    def _metrics_since(
        self, since_epoch: int, keys: Sequence[str] | None = None
    ) -> tuple[list[dict[str, Any]], int]:
        """Every epoch after since_epoch, page by page, and the epoch to poll from next."""
        items: list[dict[str, Any]] = []
        params: dict[str, Any] = {"limit": METRICS_PAGE}
        if keys:
            params["keys"] = ",".join(keys)
        while True:
            params["since_epoch"] = since_epoch
            page = self.client.get_json(f"{self._path}/metrics", params=params)
            items += page["items"]
            if len(page["items"]) < METRICS_PAGE:  # a short page is the last one
                return items, int(page["next_since_epoch"]) if page["items"] else since_epoch
            since_epoch = int(page["next_since_epoch"])

    def metrics(
        self, *, since_epoch: int = 0, keys: Sequence[str] | None = None
    ) -> list[dict[str, Any]]:
        """Every recorded epoch after since_epoch, oldest first: {"epoch", "lr": [...], key: ...}.

        Args:
            since_epoch: read only newer epochs (for incremental polling).
            keys: only these series (e.g. ["train_loss", "val_loss"]), where the server can
                select them.
        """
        return self._metrics_since(since_epoch, keys)[0]

    def metrics_frame(self, *, keys: Sequence[str] | None = None) -> "pandas.DataFrame":
        """The epochs as a pandas DataFrame indexed by epoch, lr as lr/0, lr/1, ... columns."""
        try:
            import pandas
        except ImportError as exc:
            raise ImportError("metrics_frame() needs pandas: pip install pandas") from exc
        rows = [flatten_epoch(item) for item in self.metrics(keys=keys)]
        columns = list(dict.fromkeys(["epoch", *(key for row in rows for key in row)]))
        return pandas.DataFrame(rows, columns=columns).set_index("epoch")

    def metrics_csv(self, *, keys: Sequence[str] | None = None) -> str:
        """Every epoch as CSV: the server's own CSV, page by page, where it offers one."""
        params: dict[str, Any] = {"format": "csv", "limit": METRICS_PAGE}
        if keys:
            params["keys"] = ",".join(keys)
        parts: list[str] = []
        since = 0
        while True:
            params["since_epoch"] = since
            response = self.client.request("GET", f"{self._path}/metrics", params=params)
            if not response.headers.get("content-type", "").startswith("text/csv"):
                return epochs_to_csv(self.metrics(keys=keys))  # a server without CSV
            header, _, rows = response.text.partition("\n")
            parts += [] if parts else [header + "\n"]
            parts.append(rows)
            following = int(response.headers.get("x-next-since-epoch", since))
            if rows.count("\n") < METRICS_PAGE or following <= since:
                return "".join(parts)
            since = following

    def events(self) -> list[dict[str, Any]]:
        """The job's events (queued, started, lr reduced on plateau, early stop, end)."""
        body = self.client.get_json(f"{self._path}/events", params={"format": "json"})
        items: list[dict[str, Any]] = body["items"] if isinstance(body, dict) else body
        return items

    def stream(
        self, *, last_event_id: str | None = None, reconnects: int = 5
    ) -> Iterator[StreamEvent]:
        """The job's live events as they happen, until it ends.

        Events are named: "epoch" (data: that epoch's metrics), job events such as "started"
        or "lr_reduced_on_plateau" (data: the event), and last "end" (status, stop_reason,
        error). A dropped connection is resumed from the last event received (Last-Event-ID),
        so no event is lost or repeated.

        Args:
            last_event_id: resume after this event id.
            reconnects: connection failures in a row to tolerate before ServerUnreachable.
        """
        failures = 0
        while True:
            headers = {"Accept": "text/event-stream"}
            if last_event_id is not None:
                headers["Last-Event-ID"] = last_event_id
            try:
                for event in self._stream_once(headers):
                    failures = 0
                    last_event_id = event.id if event.id is not None else last_event_id
                    yield event
                    if event.event == "end":
                        return
            except ServerUnreachable:
                failures += 1
                if failures > reconnects:
                    raise
                time.sleep(min(0.2 * 2**failures, 5.0))
                continue
            if self.refresh().finished:
                return
            time.sleep(0.2)  # closed early (a proxy, a restart): resume where it stopped

    def _stream_once(self, headers: dict[str, str]) -> Iterator[StreamEvent]:
        with self.client.stream(
            "GET", f"{self._path}/events", headers=headers, timeout=STREAM_TIMEOUT
        ) as response:
            if response.status_code == 204:  # a finished job with nothing after last_event_id
                return
            if not response.headers.get("content-type", "").startswith("text/event-stream"):
                raise Unsupported("this server does not stream job events (no text/event-stream)")
            for event in parse_events(response.iter_lines()):
                try:
                    data = json.loads(event.data)
                except ValueError:
                    data = event.data
                yield StreamEvent(event=event.event, data=data, id=event.id)

    def weights(self, *, which: Which = "final") -> bytes:
        """The trained weights as safetensors bytes: the last epoch's, or the best epoch's."""
        return self.client.request("GET", f"{self._path}/weights", params={"which": which}).content

    def save_weights(self, path: str | Path, *, which: Which = "final") -> Path:
        """Download the weights into a safetensors file, streamed; returns the path."""
        path = Path(path)
        partial = path.with_name(path.name + ".part")
        try:
            with (
                self.client.stream("GET", f"{self._path}/weights", params={"which": which}) as r,
                partial.open("wb") as out,
            ):
                for chunk in r.iter_bytes():
                    out.write(chunk)
            partial.replace(path)
        finally:
            partial.unlink(missing_ok=True)
        return path
