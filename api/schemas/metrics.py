"""HTTP models of per-epoch metrics and job events."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class EpochMetrics(BaseModel):
    """One epoch: fixed fields plus every other recorded metric by key."""

    model_config = ConfigDict(extra="allow")

    epoch: int
    lr: list[float | None] = Field(description="lr of each parameter group after the epoch")


class MetricsRead(BaseModel):
    items: list[EpochMetrics]
    next_since_epoch: int = Field(description="pass as since_epoch to get only newer epochs")


class EventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    kind: str = Field(description="queued, started, lr_reduced_on_plateau, early_stopped, ...")
    epoch: int | None
    data: dict[str, Any]
