"""Request limits as pure ASGI middleware: body size (413) and requests per token (429).

Both run before routing, so a refused request costs neither a body read nor a database query.
"""

import hashlib
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import FastAPI
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.routes.datasets import FORM_OVERHEAD_BYTES
from core.errors import GradqError
from core.settings import get_settings

API_PREFIX = "/api/v1"
UPLOAD_PATH = "/api/v1/datasets"
MAX_BUCKETS = 100_000


class BodyTooLarge(GradqError):
    status_code = 413


class RateLimited(GradqError):
    status_code = 429


@dataclass(frozen=True)
class BodyLimit:
    """How many bytes a request may send, and the error that names the setting."""

    max_bytes: int
    error: str
    detail: str


def body_limit(method: str, path: str) -> BodyLimit:
    """Uploads have their own, larger limit (plus room for the form around the file)."""
    settings = get_settings()
    if method == "POST" and path.rstrip("/") == UPLOAD_PATH:
        limit = settings.MAX_UPLOAD_BYTES
        return BodyLimit(
            limit + FORM_OVERHEAD_BYTES,
            "UploadTooLarge",
            f"files may have {limit:,} bytes at most (GRADQ_MAX_UPLOAD_BYTES)",
        )
    limit = settings.MAX_BODY_BYTES
    return BodyLimit(
        limit,
        BodyTooLarge.__name__,
        f"request bodies may have {limit:,} bytes at most (GRADQ_MAX_BODY_BYTES)",
    )


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


class BodyLimitMiddleware:
    """413 for a body over its limit: by Content-Length before reading, else while it streams."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = body_limit(scope["method"], scope["path"])
        declared = _header(scope, b"content-length")
        if declared is not None and declared.strip().isdigit() and int(declared) > limit.max_bytes:
            await _too_large(limit, f"the request declares {int(declared):,} bytes")(
                scope, receive, send
            )
            return
        await _Counted(self.app, limit)(scope, receive, send)


def _too_large(limit: BodyLimit, what: str) -> JSONResponse:
    body = {"error": limit.error, "detail": f"{what}; {limit.detail}"}
    return JSONResponse(body, status_code=413, headers={"Connection": "close"})


class _Counted:
    """One request whose body is counted as it arrives (chunked bodies declare no length)."""

    def __init__(self, app: ASGIApp, limit: BodyLimit) -> None:
        self.app, self.limit = app, limit
        self.received = 0
        self.exceeded = False
        self.started = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def counted_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                self.received += len(message.get("body", b""))
                if self.received > self.limit.max_bytes:
                    self.exceeded = True
                    raise BodyTooLarge(self.limit.detail)
            return message

        async def guarded_send(message: Message) -> None:
            # whatever the app makes of the interrupted body, the client gets the 413
            if self.exceeded:
                if message["type"] == "http.response.start" and not self.started:
                    await self._refuse(scope, receive, send)
                return
            if message["type"] == "http.response.start":
                self.started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except Exception:
            if not self.exceeded or self.started:
                raise
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.started = True
        what = f"the request body passed {self.limit.max_bytes:,} bytes"
        await _too_large(self.limit, what)(scope, receive, send)


class TokenBuckets:
    """A token bucket per API token digest, in this process's memory.

    Each API process keeps its own buckets, so N processes allow up to N times the rate; the
    least recently used buckets are dropped past MAX_BUCKETS (they start full again).
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, key: str, *, per_minute: int, burst: int) -> float:
        """Take one request's token: 0.0 if granted, else the seconds until one is free."""
        rate = per_minute / 60.0
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.pop(key, (float(burst), now))
            tokens = min(float(burst), tokens + (now - last) * rate)
            granted = tokens >= 1.0
            self._buckets[key] = (tokens - 1.0 if granted else tokens, now)
            while len(self._buckets) > MAX_BUCKETS:
                self._buckets.popitem(last=False)
        return 0.0 if granted else (1.0 - tokens) / rate


def _bearer_digest(scope: Scope) -> str | None:
    value = _header(scope, b"authorization")
    if value is None:
        return None
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return hashlib.sha256(token.strip().encode()).hexdigest()


def _limited_path(path: str) -> bool:
    """Only the API: probes, /metrics, the dashboard page and its static files are free."""
    return path == API_PREFIX or path.startswith(API_PREFIX + "/")


class RateLimitMiddleware:
    """429 with Retry-After once a token has spent its burst (GRADQ_RATE_LIMIT_*)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.buckets = TokenBuckets()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        digest = _bearer_digest(scope) if scope["type"] == "http" else None
        if digest is None or not _limited_path(scope["path"]):
            await self.app(scope, receive, send)
            return
        settings = get_settings()
        per_minute, burst = settings.RATE_LIMIT_PER_MINUTE, settings.RATE_LIMIT_BURST
        wait = self.buckets.take(digest, per_minute=per_minute, burst=burst)
        if not wait:
            await self.app(scope, receive, send)
            return
        retry_after = max(1, math.ceil(wait))
        detail = (
            f"this token sent more than GRADQ_RATE_LIMIT_BURST = {burst} requests at once or "
            f"GRADQ_RATE_LIMIT_PER_MINUTE = {per_minute} a minute; retry in {retry_after} s"
        )
        response = JSONResponse(
            {"error": RateLimited.__name__, "detail": detail},
            status_code=RateLimited.status_code,
            headers={"Retry-After": str(retry_after)},
        )
        await response(scope, receive, send)


def install_limits(app: FastAPI) -> None:
    """Rate limit first (the cheapest refusal), then the body size."""
    app.add_middleware(BodyLimitMiddleware)
    app.add_middleware(RateLimitMiddleware)  # added last, so it runs first
