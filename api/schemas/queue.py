"""HTTP models of the queue: every queued job in the order it will run."""

import uuid
from datetime import datetime

from pydantic import BaseModel, Field


class QueueEntryRead(BaseModel):
    position: int = Field(description="1 runs next")
    job_id: uuid.UUID
    name: str | None = Field(
        description="the job's name: your own jobs only (every job for admins)"
    )
    owner: str | None = Field(description="the owner's name, shown to admins only")
    mine: bool = Field(description="whether the caller owns the job")
    priority: int
    epochs: int
    queued_at: datetime | None
    estimated_start_at: datetime | None = Field(
        description="from the running jobs' measured epoch times; null when none is known"
    )


class QueueRead(BaseModel):
    items: list[QueueEntryRead] = Field(description="queued training jobs, the next to run first")
