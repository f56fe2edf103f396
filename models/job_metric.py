"""Per-epoch metric values, one narrow row per (job, key, epoch)."""

import uuid

from sqlalchemy import Boolean, Double, Index, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class JobMetric(Base):
    __tablename__ = "job_metrics"
    # one series (a job's key over epochs) is read without touching the job's other keys
    __table_args__ = (Index("ix_job_metrics_series", "job_id", "key", "epoch", "value"),)

    # no foreign key: checking one per inserted row cost as much as storing the row. A job's
    # metrics are written under its lease, in the transaction that holds the job's row, and a
    # trigger on jobs deletes them with the job (migration 0006).
    job_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    epoch: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    step: Mapped[int] = mapped_column(Integer)
    # NaN/inf cannot travel in JSON and SQLite stores NaN as NULL: keep a NULL value and a flag.
    value: Mapped[float | None] = mapped_column(Double)
    is_nan: Mapped[bool] = mapped_column(Boolean, default=False)
