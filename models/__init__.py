"""Database tables; every table is imported here so Alembic autogenerate sees all of them."""

from models.base import Base
from models.dataset import Dataset
from models.job import FINISHED_STATUSES, Job, JobKind, JobStatus
from models.job_event import JobEvent
from models.job_metric import JobMetric
from models.user import ApiToken, User

__all__ = [
    "FINISHED_STATUSES",
    "ApiToken",
    "Base",
    "Dataset",
    "Job",
    "JobEvent",
    "JobKind",
    "JobMetric",
    "JobStatus",
    "User",
]
