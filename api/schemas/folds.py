"""HTTP models of a cross-validation job's folds."""

import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from models import JobStatus


class FoldRead(BaseModel):
    """One child job of a cross-validation: the fold it validates on, its status and results."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    fold: int
    status: JobStatus
    final_metrics: dict[str, Any] | None = Field(description="null until the fold's job ends")


class FoldsRead(BaseModel):
    job_id: uuid.UUID
    folds: list[FoldRead]
