"""HTTP models of job control: clone a job with overrides."""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class JobClone(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=200, description="default: the job's name")
    overrides: dict[str, Any] = Field(
        default_factory=dict,
        description=(
            "merged into a copy of the job's spec: objects key by key, anything else replaced; "
            'e.g. {"optimizer": {"lr": 0.001}, "training": {"epochs": 50}}'
        ),
    )
    priority: int | None = Field(
        default=None, ge=-100, le=100, description="default: the job's priority"
    )
    max_runtime_s: int | None = Field(
        default=None, ge=1, description="default: the job's max_runtime_s"
    )
