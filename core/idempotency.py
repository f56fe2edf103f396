"""Idempotent submission: an Idempotency-Key names one job per user and request body."""

import hashlib
import json
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import GradqError
from models import Job

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 200


class IdempotencyKeyReused(GradqError):
    """The key names a job submitted with another body; detail is a 422 item on the header."""

    status_code = 422

    def __init__(self, key: str, job_id: uuid.UUID) -> None:
        message = (
            f"this {HEADER} was used for job {job_id} with a different request body; "
            "send a new key for a new job"
        )
        super().__init__(message)
        self.detail = [
            {
                "loc": ["header", HEADER],
                "msg": message,
                "type": "idempotency_key_reused",
                "field": HEADER,
                "ctx": {"key": key, "job_id": str(job_id)},
            }
        ]


def request_sha256(body: dict[str, Any]) -> str:
    """The SHA-256 of the body's canonical JSON: sorted keys, no whitespace, UTF-8."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def find(session: Session, *, owner_id: uuid.UUID, key: str, sha256: str) -> Job | None:
    """The job this user already submitted under key; IdempotencyKeyReused if the body differs."""
    query = select(Job).where(Job.owner_id == owner_id, Job.idempotency_key == key)
    job = session.scalar(query)
    if job is not None and job.request_sha256 != sha256:
        raise IdempotencyKeyReused(key, job.id)
    return job


def stamp(session: Session, *, job: Job, key: str, sha256: str) -> None:
    """Record the key on a new job; the unique (owner_id, idempotency_key) index settles races."""
    job.idempotency_key = key
    job.request_sha256 = sha256
    session.flush()
