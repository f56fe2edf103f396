"""ETags and a small store of recent bodies, so an unchanged poll costs no query and no body."""

import hashlib
import threading
from collections import OrderedDict

from fastapi import Request, Response

BODIES_KEPT = 32
KEPT_BODY_BYTES = 512 * 1024

_bodies: OrderedDict[str, tuple[bytes, str]] = OrderedDict()
_lock = threading.Lock()


def etag_of(*parts: object) -> str:
    """A strong ETag for a representation made from parts (their repr must say it all)."""
    return '"' + hashlib.sha256(repr(parts).encode()).hexdigest()[:32] + '"'


def _headers(etag: str) -> dict[str, str]:
    return {"ETag": etag, "Cache-Control": "no-cache"}


def cached_response(request: Request, etag: str) -> Response | None:
    """304 when the client holds this version; the kept body when the server does."""
    held = request.headers.get("if-none-match", "").split(",")
    if {tag.strip().removeprefix("W/") for tag in held} & {etag, "*"}:
        return Response(status_code=304, headers=_headers(etag))
    with _lock:
        kept = _bodies.get(etag)
    if kept is None:
        return None
    return Response(kept[0], media_type=kept[1], headers=_headers(etag))


def remember(
    etag: str, body: bytes, media_type: str, headers: dict[str, str] | None = None
) -> Response:
    """The response, its body kept for the next request of the same version when small."""
    if len(body) <= KEPT_BODY_BYTES:
        with _lock:
            _bodies[etag] = (body, media_type)
            _bodies.move_to_end(etag)
            while len(_bodies) > BODIES_KEPT:
                _bodies.popitem(last=False)
    return Response(body, media_type=media_type, headers=_headers(etag) | (headers or {}))
