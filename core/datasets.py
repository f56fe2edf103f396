"""Uploaded data sets: store a file whole or not at all, read and delete them, resolve specs."""

import hashlib
import uuid
from pathlib import Path
from typing import Any, BinaryIO

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import GradqError, SpecRejected
from core.pagination import Page, newest_first
from core.settings import get_settings
from models import Dataset, Job, JobStatus, User
from training.datasets.errors import DataUnavailable, FileProblem
from training.datasets.files import read_upload, sniff, upload_path
from training.datasets.idx import subset_size
from training.datasets.info import UploadInfo
from training.spec import TrainingSpec
from training.spec.data import IdxSetBase, UploadSpec

CHUNK_BYTES = 1 << 20
SNIFF_BYTES = 1 << 16
ACTIVE_STATUSES = (JobStatus.QUEUED, JobStatus.RUNNING)


class DatasetNotFound(GradqError):
    status_code = 404


class DatasetInUse(GradqError):
    status_code = 409


class UploadTooLarge(GradqError):
    status_code = 413


class DatasetRejected(GradqError):
    """A file that cannot be read; the detail names the line, column or array at fault."""

    status_code = 422


def uploads_dir(data_dir: Path) -> Path:
    return data_dir / "datasets" / "uploads"


def _copy(source: BinaryIO, target: Path, max_bytes: int) -> tuple[int, str]:
    """Copy source to target in chunks; UploadTooLarge as soon as it passes max_bytes."""
    size, digest = 0, hashlib.sha256()
    with target.open("wb") as handle:
        while chunk := source.read(CHUNK_BYTES):
            size += len(chunk)
            if size > max_bytes:
                raise UploadTooLarge(
                    f"the file is larger than the upload limit of {max_bytes:,} bytes "
                    "(GRADQ_MAX_UPLOAD_BYTES)"
                )
            digest.update(chunk)
            handle.write(chunk)
    return size, digest.hexdigest()


def store_upload(
    session: Session,
    *,
    owner_id: uuid.UUID,
    source: BinaryIO,
    filename: str | None,
    name: str | None,
    target: str | None,
    data_dir: Path,
    max_bytes: int,
) -> Dataset:
    """Check, measure and store an uploaded file; nothing stays behind when it is refused.

    The file is written to a temporary name and renamed to its final place only once it has
    been read and its row flushed; the caller commits, and calls discard_file if that fails.
    """
    directory = uploads_dir(data_dir)
    directory.mkdir(parents=True, exist_ok=True)
    part = directory / f".{uuid.uuid4().hex}.part"
    try:
        size, sha256 = _copy(source, part, max_bytes)
        with part.open("rb") as handle:
            fmt = sniff(handle.read(SNIFF_BYTES))
        arrays = read_upload(part, fmt, target)
        column = target if fmt != "npz" else None
        info = arrays.describe(fmt, sha256, column)
        dataset = Dataset(
            id=uuid.uuid4(),
            owner_id=owner_id,
            name=(name or filename or f"upload.{fmt}")[:200],
            filename=(filename or "")[:255],
            format=fmt,
            sha256=sha256,
            size_bytes=size,
            n_rows=info.n_samples,
            sample_shape=list(info.sample_shape),
            target_column=column,
            label_shape=list(info.label_shape),
            label_type=info.label_type,
            num_labels=info.num_labels,
            label_min=info.label_min,
            label_max=info.label_max,
            classes=arrays.classes,
            class_counts=arrays.class_counts(),
        )
        session.add(dataset)
        session.flush()
        part.replace(upload_path(data_dir, dataset.id, fmt))
    except FileProblem as exc:
        raise DatasetRejected(str(exc)) from exc
    finally:
        part.unlink(missing_ok=True)
    return dataset


def file_of(dataset: Dataset, data_dir: Path) -> Path:
    return upload_path(data_dir, dataset.id, dataset.format)


def discard_file(dataset: Dataset, data_dir: Path) -> None:
    """Remove a data set's file: after its row is deleted, or when storing its row failed."""
    file_of(dataset, data_dir).unlink(missing_ok=True)


def get_for_owner(session: Session, *, dataset_id: uuid.UUID, user: User) -> Dataset:
    """The data set if user uploaded it or is an admin; else DatasetNotFound, as for jobs."""
    dataset = session.get(Dataset, dataset_id)
    if dataset is None or (dataset.owner_id != user.id and not user.is_admin):
        raise DatasetNotFound(f"no data set {dataset_id}")
    return dataset


def list_for_owner(
    session: Session, *, user: User, limit: int = 50, cursor: str | None = None
) -> Page[Dataset]:
    """The user's data sets (every one for an admin), newest first."""
    query = select(Dataset)
    if not user.is_admin:
        query = query.where(Dataset.owner_id == user.id)
    return newest_first(session, query, Dataset, limit=limit, cursor=cursor)


def delete(session: Session, *, dataset: Dataset) -> None:
    """Delete the row (the caller commits, then discards the file); DatasetInUse while a queued
    or running job trains on it. Finished jobs keep their results and lose the link."""
    active = select(Job.id).where(Job.dataset_id == dataset.id, Job.status.in_(ACTIVE_STATUSES))
    job_id = session.scalar(active.limit(1))
    if job_id is not None:
        raise DatasetInUse(f"job {job_id} is queued or running on data set {dataset.id}")
    session.delete(dataset)
    session.flush()


def upload_info(dataset: Dataset) -> UploadInfo:
    """What the spec of a job on this data set needs to know of it."""
    return UploadInfo(
        format=dataset.format,
        sha256=dataset.sha256,
        target_column=dataset.target_column,
        n_samples=dataset.n_rows,
        sample_shape=tuple(dataset.sample_shape),
        label_shape=tuple(dataset.label_shape),
        label_type=dataset.label_type,
        num_labels=dataset.num_labels,
        label_min=dataset.label_min,
        label_max=dataset.label_max,
    )


def _field(loc: tuple[Any, ...], raw: Any) -> list[str | int]:
    """loc as the user wrote it: pydantic puts a discriminated union's tag into it."""
    path: list[str | int] = []
    node = raw
    for part in loc:
        if isinstance(node, dict) and part not in node and node.get("type") == part:
            continue
        path.append(part)
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            node = None
    return path


def _rejected(errors: list[tuple[list[str | int], str, str]]) -> SpecRejected:
    return SpecRejected(
        [
            {
                "loc": ["body", "spec", *loc],
                "msg": msg,
                "type": kind,
                "field": ".".join(str(part) for part in ["spec", *loc]),
            }
            for loc, msg, kind in errors
        ]
    )


def _file_info(session: Session, spec: TrainingSpec, user: User, data_dir: Path) -> dict[str, Any]:
    dataset = spec.dataset
    if isinstance(dataset, UploadSpec):
        row = get_for_owner(session, dataset_id=dataset.id, user=user)
        return upload_info(row).model_dump(mode="json")
    assert isinstance(dataset, IdxSetBase)
    try:
        return {"n_samples": subset_size(data_dir, dataset.directory, dataset.train)}
    except (DataUnavailable, FileProblem) as exc:
        raise _rejected([(["dataset", "type"], str(exc), "data_unavailable")]) from exc


def resolve_spec(session: Session, *, spec: TrainingSpec, user: User) -> TrainingSpec:
    """spec with what the server knows of its data filled in and checked.

    An upload gets its measurements from the datasets table (DatasetNotFound for someone else's
    or an unknown one), an IDX set the size of its files (a 422 saying where they go when they
    are missing); then the spec is validated again, so every check sees the real shapes.
    """
    if not isinstance(spec.dataset, UploadSpec | IdxSetBase):
        return spec
    data_dir = get_settings().DATA_DIR
    raw = spec.model_dump(mode="json")
    raw["dataset"]["info"] = _file_info(session, spec, user, data_dir)
    try:
        resolved = TrainingSpec.model_validate(raw)
    except ValidationError as exc:
        problems = [(_field(e["loc"], raw), e["msg"], e["type"]) for e in exc.errors()]
        raise _rejected(problems) from exc
    resolved.dataset.bind(data_dir)
    return resolved


def upload_id(spec: TrainingSpec) -> uuid.UUID | None:
    """The uploaded data set a spec trains on, if any."""
    return spec.dataset.id if isinstance(spec.dataset, UploadSpec) else None
