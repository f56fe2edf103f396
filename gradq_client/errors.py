"""Errors the client raises; an API error reads as "field: reason" lines."""

from typing import Any

import httpx


class GradqClientError(Exception):
    """Base of every error this package raises."""


class ServerUnreachable(GradqClientError):
    """No answer from the server: wrong URL, server down, network broken."""


class Unsupported(GradqClientError):
    """The server answered, but does not offer what was asked (it may be older than the client)."""


class APIError(GradqClientError):
    """The server refused a request; `problems` names each field at fault and the reason."""

    def __init__(self, status_code: int, error: str, detail: Any, request: str = "") -> None:
        self.status_code = status_code
        self.error = error
        self.detail = detail
        self.request = request
        self.problems = problems(detail)
        super().__init__("; ".join(self.problems) or f"HTTP {status_code}")

    @classmethod
    def from_response(cls, response: httpx.Response) -> "APIError":
        request = f"{response.request.method} {response.request.url.path}"
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return cls(response.status_code, "HTTPError", response.text.strip()[:500], request)
        if (
            "error" not in body
            and response.status_code in {404, 405}
            and body.get("detail")
            in {
                "Not Found",
                "Method Not Allowed",
            }
        ):
            detail = f"the server has no route {request} (it may be older than this client)"
            return cls(response.status_code, "NoSuchRoute", detail, request)
        error = str(body.get("error", "HTTPError"))
        return cls(response.status_code, error, body.get("detail"), request)


def _field(item: dict[str, Any]) -> str:
    if item.get("field"):
        return str(item["field"])
    loc = [str(part) for part in item.get("loc", [])]
    if loc and loc[0] in {"body", "query", "path", "header"}:
        loc = loc[1:]
    return ".".join(loc)


def problems(detail: Any) -> list[str]:
    """Each problem of an error detail as "field: reason" (or the reason alone)."""
    if detail is None:
        return []
    if isinstance(detail, str):
        return [detail]
    if isinstance(detail, list):
        lines = []
        for item in detail:
            if isinstance(item, dict):
                field, reason = _field(item), str(item.get("msg", item))
                lines.append(f"{field}: {reason}" if field else reason)
            else:
                lines.append(str(item))
        return lines
    return [str(detail)]
