"""HTTP models of uploaded data sets."""

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from core.datasets import upload_info
from models import Dataset
from training.spec.data import upload_target_kinds


class DatasetRead(BaseModel):
    """An uploaded data set: what was measured in it, and how a spec can train on it."""

    id: uuid.UUID
    name: str
    filename: str
    format: str
    sha256: str = Field(description="of the file as uploaded")
    size_bytes: int
    n_rows: int
    sample_shape: list[int] = Field(description="one sample's features")
    dtype: str = Field(description="the features' dtype as trained on")
    target_column: str | None
    label_shape: list[int] = Field(description="one sample's label as stored")
    label_dtype: str
    label_type: str = Field(description="integer, real or text")
    num_labels: int | None
    classes: list[str] | None = Field(description="text labels, in the order of their numbers")
    class_counts: dict[str, Any] | None = Field(description="samples per label")
    target_kinds: list[str] = Field(description="what `target_kind` a spec may ask of it")
    created_at: datetime

    @classmethod
    def of(cls, dataset: Dataset) -> "DatasetRead":
        return cls(
            id=dataset.id,
            name=dataset.name,
            filename=dataset.filename,
            format=dataset.format,
            sha256=dataset.sha256,
            size_bytes=dataset.size_bytes,
            n_rows=dataset.n_rows,
            sample_shape=dataset.sample_shape,
            dtype="float32",
            target_column=dataset.target_column,
            label_shape=dataset.label_shape,
            label_dtype="float32" if dataset.label_type == "real" else "int64",
            label_type=dataset.label_type,
            num_labels=dataset.num_labels,
            classes=dataset.classes,
            class_counts=dataset.class_counts,
            target_kinds=[kind.value for kind in upload_target_kinds(upload_info(dataset))],
            created_at=dataset.created_at,
        )


class DatasetPage(BaseModel):
    items: list[DatasetRead]
    next_cursor: str | None
