"""Error rendering: every expected error becomes {"error", "detail"} with its status."""

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import InterfaceError, OperationalError

from core.errors import GradqError, NotAuthenticated, SpecRejected

DISCRIMINATOR_ERRORS = {"union_tag_invalid", "union_tag_not_found"}


def _field(loc: tuple[Any, ...] | list[Any], body: Any, error_type: str) -> str:
    """The dotted path of the field as the user wrote it, e.g. spec.optimizer.lr.

    Pydantic puts the union tag into loc (spec.optimizer.SGD.lr); walking the body tells a tag
    from a real key, so the tag is left out.
    """
    parts = list(loc)
    if parts and parts[0] in {"body", "query", "path", "header"}:
        parts, node = parts[1:], body if parts[0] == "body" else None
    else:
        node = None
    path: list[str] = []
    for part in parts:
        if isinstance(node, dict) and part not in node and node.get("type") == part:
            continue  # a discriminated union's tag, not a field
        path.append(str(part))
        node = _child(node, part)
    if error_type in DISCRIMINATOR_ERRORS:
        path.append("type")
    return ".".join(path)


def _child(node: Any, part: Any) -> Any:
    if isinstance(node, dict):
        return node.get(part)
    if isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
        return node[part]
    return None


def _validation_detail(errors: list[Any], body: Any) -> list[dict[str, Any]]:
    detail = []
    for error in errors:
        item = {key: error[key] for key in ("loc", "msg", "type") if key in error}
        item["field"] = _field(error.get("loc", ()), body, error.get("type", ""))
        if "ctx" in error:
            item["ctx"] = {key: str(value) for key, value in error["ctx"].items()}
        detail.append(item)
    return detail


async def _gradq_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, GradqError)
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, NotAuthenticated) else None
    name = "ValidationError" if isinstance(exc, SpecRejected) else type(exc).__name__
    body = {"error": name, "detail": exc.detail}
    return JSONResponse(body, status_code=exc.status_code, headers=headers)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    body = {"error": "ValidationError", "detail": _validation_detail(list(exc.errors()), exc.body)}
    return JSONResponse(body, status_code=422)


# how long a client should wait before retrying while the database is away
DATABASE_RETRY_AFTER_SECONDS = 2


async def _database_unavailable(_request: Request, exc: Exception) -> JSONResponse:
    """The database refused or dropped the connection: the service is briefly unavailable."""
    del exc
    body = {
        "error": "DatabaseUnavailable",
        "detail": "the database is unreachable; retry shortly",
    }
    headers = {"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)}
    return JSONResponse(body, status_code=503, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(GradqError, _gradq_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    # OperationalError and InterfaceError: connection refused, dropped, timed out; an
    # IntegrityError or a programming error stays a 500
    app.add_exception_handler(OperationalError, _database_unavailable)
    app.add_exception_handler(InterfaceError, _database_unavailable)


def error_responses(*errors: type[GradqError]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries for the errors a route can raise."""
    return {error.status_code: {"description": error.__name__} for error in errors}
