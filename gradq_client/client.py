"""Client: one authenticated HTTP connection to a gradq server and its routes."""

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx

from gradq_client.config import load_config
from gradq_client.errors import APIError, ServerUnreachable
from gradq_client.job import Job

API = "/api/v1"
UPLOAD_TYPES = {
    ".csv": "text/csv",
    ".npz": "application/octet-stream",
    ".parquet": "application/vnd.apache.parquet",
}


class Client:
    """A gradq server, as one user (the token's owner).

    Args:
        url: the server, e.g. "http://gpu-box:8000"; default GRADQ_URL, the config file, or
            http://127.0.0.1:8000.
        token: an API token; default GRADQ_TOKEN or the config file (see `load_config`).
        timeout: seconds to wait for each answer.
        transport: an httpx transport to send requests through (tests, proxies).

    Use it as a context manager, or call `close()`, to release the connection pool.
    """

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        *,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        config = load_config(url, token)
        self.url = config.url
        self.token_source = config.token_source
        headers = {"Authorization": f"Bearer {config.token}"} if config.token else {}
        self._http = httpx.Client(
            base_url=self.url, headers=headers, timeout=timeout, transport=transport
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send a request; an error answer raises APIError, no answer ServerUnreachable."""
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise ServerUnreachable(f"cannot reach the gradq server at {self.url}: {exc}") from exc
        if response.status_code >= 400:
            raise APIError.from_response(response)
        return response

    @contextmanager
    def stream(self, method: str, path: str, **kwargs: Any) -> Iterator[httpx.Response]:
        """A streamed request: the body is read as it arrives; errors as in `request`."""
        try:
            with self._http.stream(method, path, **kwargs) as response:
                if response.status_code >= 400:
                    response.read()
                    raise APIError.from_response(response)
                yield response
        except httpx.TransportError as exc:
            raise ServerUnreachable(f"lost the gradq server at {self.url}: {exc}") from exc

    def get_json(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs).json()

    def submit(
        self, spec: Mapping[str, Any], *, name: str | None = None, priority: int | None = None
    ) -> Job:
        """Queue a training job; the returned Job carries the server's `warnings`."""
        body: dict[str, Any] = {"spec": dict(spec)}
        if name is not None:
            body["name"] = name
        if priority is not None:
            body["priority"] = priority
        return Job(self, self.request("POST", f"{API}/jobs", json=body).json())

    def validate(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        """All the checks of a submission plus a dry run; nothing is stored."""
        result: dict[str, Any] = self.request(
            "POST", f"{API}/jobs/validate", json={"spec": dict(spec)}
        ).json()
        return result

    def job(self, job_id: str) -> Job:
        return Job(self, self.get_json(f"{API}/jobs/{job_id}"))

    def jobs(self, *, status: str | None = None, limit: int = 50) -> list[Job]:
        """The caller's jobs (every job for an admin), newest first, at most `limit`."""
        found: list[Job] = []
        cursor: str | None = None
        while len(found) < limit:
            params: dict[str, Any] = {"limit": min(limit - len(found), 500)}
            if status:
                params["status"] = status
            if cursor:
                params["cursor"] = cursor
            page = self.get_json(f"{API}/jobs", params=params)
            found += [Job(self, item) for item in page["items"]]
            cursor = page.get("next_cursor")
            if not cursor:
                break
        return found

    def queue(self) -> list[dict[str, Any]]:
        """Every queued job in the order it will run: position, job_id, priority, epochs,
        queued_at, estimated_start_at, mine; name for your own jobs, owner for admins only."""
        items: list[dict[str, Any]] = self.get_json(f"{API}/queue")["items"]
        return items

    def catalog(self, kind: str | None = None) -> dict[str, list[dict[str, Any]]]:
        """Every type of every kind (or of one kind) with its parameters and defaults."""
        if kind is None:
            everything: dict[str, list[dict[str, Any]]] = self.get_json(f"{API}/catalog")
            return everything
        return {kind: self.get_json(f"{API}/catalog/{kind}")}

    def preview_lr(
        self,
        optimizer: Mapping[str, Any],
        scheduler: Mapping[str, Any],
        *,
        epochs: int,
        steps_per_epoch: int = 1,
    ) -> dict[str, Any]:
        """The lr after every epoch (and batch, for per-batch schedules), without training."""
        body = {
            "optimizer": dict(optimizer),
            "scheduler": dict(scheduler),
            "epochs": epochs,
            "steps_per_epoch": steps_per_epoch,
        }
        preview: dict[str, Any] = self.request("POST", f"{API}/schedules/preview", json=body).json()
        return preview

    def upload_dataset(
        self, path: str | Path, *, target: str | None = None, name: str | None = None
    ) -> dict[str, Any]:
        """Upload a CSV (with the target column named), NPZ (`x`, `y`) or Parquet file."""
        path = Path(path)
        fields = {key: value for key, value in {"target": target, "name": name}.items() if value}
        media_type = UPLOAD_TYPES.get(path.suffix.lower(), "application/octet-stream")
        with path.open("rb") as handle:
            files = {"file": (path.name, handle, media_type)}
            response = self.request("POST", f"{API}/datasets", files=files, data=fields)
        uploaded: dict[str, Any] = response.json()
        return uploaded

    def datasets(self) -> list[dict[str, Any]]:
        """The caller's uploaded data sets."""
        body = self.get_json(f"{API}/datasets")
        items: list[dict[str, Any]] = body["items"] if isinstance(body, dict) else body
        return items

    def dataset(self, dataset_id: str) -> dict[str, Any]:
        """One data set: shapes, dtypes, rows, labels and class counts."""
        dataset: dict[str, Any] = self.get_json(f"{API}/datasets/{dataset_id}")
        return dataset

    def delete_dataset(self, dataset_id: str) -> None:
        """Delete a data set; refused (409) while a queued or running job uses it."""
        self.request("DELETE", f"{API}/datasets/{dataset_id}")

    def create_user(self, name: str) -> str:
        """Admin only: create a user and return their token (shown only this once)."""
        token: str = self.request("POST", f"{API}/users", json={"name": name}).json()["token"]
        return token

    def ready(self) -> dict[str, Any]:
        """The server's readiness checks; a 503 answer still returns them."""
        try:
            response = self._http.get("/readyz")
        except httpx.TransportError as exc:
            raise ServerUnreachable(f"cannot reach the gradq server at {self.url}: {exc}") from exc
        if response.status_code not in {200, 503}:
            raise APIError.from_response(response)
        health: dict[str, Any] = response.json()
        return health
