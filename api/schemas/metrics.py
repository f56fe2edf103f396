"""HTTP models of per-epoch metrics, their summaries, run comparisons and job events."""

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from models import JobStatus

LR = "lr"
LR_PREFIX = "lr/"


def _lr_group(key: str) -> int:
    return int(key.removeprefix(LR_PREFIX))


def epoch_item(row: dict[str, Any]) -> dict[str, Any]:
    """An EpochMetrics body from a stored epoch: the lr/<group> keys gathered into one `lr` list."""
    lr_keys = sorted((key for key in row if key.startswith(LR_PREFIX)), key=_lr_group)
    item = {key: value for key, value in row.items() if not key.startswith(LR_PREFIX)}
    if lr_keys:
        item[LR] = [row[key] for key in lr_keys]
    return item


class EpochMetrics(BaseModel):
    """One epoch: fixed fields plus every other recorded metric by key (null for NaN)."""

    model_config = ConfigDict(extra="allow")

    epoch: int
    lr: list[float | None] | None = Field(
        default=None,
        description="lr of each parameter group after the epoch; absent when keys leaves it out",
    )


class MetricsRead(BaseModel):
    items: list[EpochMetrics]
    next_since_epoch: int = Field(description="pass as since_epoch to get only newer epochs")


class KeySummaryRead(BaseModel):
    last: float | None = Field(description="the newest value (null for NaN)")
    last_epoch: int
    min: float | None = Field(description="the smallest finite value; null while there is none")
    min_epoch: int | None = Field(description="the first epoch at the smallest value")
    max: float | None
    max_epoch: int | None


class MetricsSummaryRead(BaseModel):
    epochs: int = Field(description="epochs stored so far")
    keys: dict[str, KeySummaryRead]


class SeriesRead(BaseModel):
    job_id: uuid.UUID
    name: str | None
    status: JobStatus
    epochs: list[int]
    values: list[float | None]


class ComparisonRead(BaseModel):
    key: str
    series: list[SeriesRead] = Field(description="one per job, in the order job_ids names them")


class EventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    kind: str = Field(description="queued, started, lr_reduced_on_plateau, early_stopped, ...")
    epoch: int | None
    data: dict[str, Any]
