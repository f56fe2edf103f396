"""Errors a user can expect, each with the HTTP status it maps to."""

from typing import Any


class GradqError(Exception):
    """Base of every expected error; the API renders it as {"error", "detail"}."""

    status_code = 400

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail: str | list[dict[str, Any]] = detail


class NotAuthenticated(GradqError):
    status_code = 401


class NotAuthorized(GradqError):
    status_code = 403


class JobNotFound(GradqError):
    status_code = 404


class JobNotCancellable(GradqError):
    status_code = 409


class JobNotPausable(GradqError):
    status_code = 409


class JobNotResumable(GradqError):
    status_code = 409


class QueueLimitReached(GradqError):
    """The user already has GRADQ_MAX_QUEUED_PER_USER jobs waiting."""

    status_code = 429


class UserAlreadyExists(GradqError):
    status_code = 409


class InvalidCursor(GradqError):
    status_code = 422


class SpecRejected(GradqError):
    """A spec that parses but cannot train; detail lists each field at fault like a 422."""

    status_code = 422

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__("; ".join(f"{e['field']}: {e['msg']}" for e in errors))
        self.detail = errors


class RequestRejected(GradqError):
    """A well-formed request whose values cannot be served (too large, inconsistent)."""

    status_code = 422
