"""Uploaded data sets: the stored file's checksum and what was measured in it at upload."""

import uuid
from typing import Any

from sqlalchemy import JSON, BigInteger, Double, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, CreatedAt, UUIDPk


class Dataset(UUIDPk, CreatedAt, Base):
    __tablename__ = "datasets"
    __table_args__ = (Index("ix_datasets_owner_created", "owner_id", "created_at", "id"),)

    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    filename: Mapped[str] = mapped_column(String(255))
    format: Mapped[str] = mapped_column(String(16))
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    n_rows: Mapped[int] = mapped_column(Integer)
    sample_shape: Mapped[list[int]] = mapped_column(JSON)
    target_column: Mapped[str | None] = mapped_column(String(200))
    label_shape: Mapped[list[int]] = mapped_column(JSON)
    label_type: Mapped[str] = mapped_column(String(16))
    num_labels: Mapped[int | None] = mapped_column(Integer)
    label_min: Mapped[float | None] = mapped_column(Double)
    label_max: Mapped[float | None] = mapped_column(Double)
    classes: Mapped[list[str] | None] = mapped_column(JSON)
    class_counts: Mapped[dict[str, Any] | None] = mapped_column(JSON)
