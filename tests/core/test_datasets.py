"""The upload store: all or nothing on disk and in the table, deletion rules, spec resolution."""

import io
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from core import datasets, jobs, users
from core.datasets import DatasetInUse, DatasetNotFound, DatasetRejected, UploadTooLarge
from core.db import session_scope
from core.errors import SpecRejected
from core.settings import get_settings
from models import Dataset, Job, JobStatus, User
from training.spec import TrainingSpec
from training.spec.data import UploadSpec

CSV = b"a,b,y\n1,2,0\n3,4,1\n5,6,2\n7,8,1\n"


def _user(session: Session) -> User:
    user, _ = users.create(session, name=f"d-{uuid.uuid4().hex[:8]}")
    return user


def _store(
    session: Session, user: User, data_dir: Path, content: bytes = CSV, **kw: Any
) -> Dataset:
    options: dict[str, Any] = {"target": "y", "max_bytes": 10_000} | kw
    return datasets.store_upload(
        session,
        owner_id=user.id,
        source=io.BytesIO(content),
        filename="d.csv",
        name=None,
        data_dir=data_dir,
        **options,
    )


def test_a_stored_upload_has_its_file_and_row(any_engine: Engine, tmp_path: Path) -> None:
    with session_scope(any_engine) as session:
        dataset = _store(session, _user(session), tmp_path)
        assert (dataset.n_rows, dataset.num_labels, dataset.class_counts) == (
            4,
            3,
            {"0": 1, "1": 2, "2": 1},
        )
        dataset_id = dataset.id
    assert (tmp_path / "datasets" / "uploads" / f"{dataset_id}.csv").read_bytes() == CSV
    assert list((tmp_path / "datasets" / "uploads").iterdir()) == [
        tmp_path / "datasets" / "uploads" / f"{dataset_id}.csv"
    ]


@pytest.mark.parametrize(
    ("content", "options", "error"),
    [
        (CSV, {"max_bytes": len(CSV) - 1}, UploadTooLarge),
        (b"a,b,y\n1,2\n", {}, DatasetRejected),
        (CSV, {"target": "z"}, DatasetRejected),
    ],
)
def test_a_refused_upload_leaves_nothing(
    session: Session, tmp_path: Path, content: bytes, options: dict[str, Any], error: type
) -> None:
    user = _user(session)
    with pytest.raises(error):
        _store(session, user, tmp_path, content, **options)
    assert list((tmp_path / "datasets" / "uploads").iterdir()) == []
    assert session.scalar(select(func.count()).where(Dataset.owner_id == user.id)) == 0
    session.rollback()


def test_a_failed_commit_discards_the_file(session: Session, tmp_path: Path) -> None:
    dataset = _store(session, _user(session), tmp_path)
    session.rollback()
    assert datasets.file_of(dataset, tmp_path).exists()
    datasets.discard_file(dataset, tmp_path)
    assert not datasets.file_of(dataset, tmp_path).exists()


def _job_on(session: Session, dataset: Dataset, status: JobStatus) -> Job:
    job = jobs.create(
        session, owner_id=dataset.owner_id, name=None, spec={}, epochs=1, dataset_id=dataset.id
    )
    job.status = status
    session.flush()
    return job


@pytest.mark.parametrize("status", [JobStatus.QUEUED, JobStatus.RUNNING])
def test_active_jobs_keep_their_data_set(
    any_engine: Engine, tmp_path: Path, status: JobStatus
) -> None:
    with session_scope(any_engine) as session:
        dataset = _store(session, _user(session), tmp_path)
        _job_on(session, dataset, status)
        with pytest.raises(DatasetInUse):
            datasets.delete(session, dataset=dataset)


def test_finished_jobs_lose_the_link_and_keep_their_results(
    any_engine: Engine, tmp_path: Path
) -> None:
    with session_scope(any_engine) as session:
        dataset = _store(session, _user(session), tmp_path)
        job_id = _job_on(session, dataset, JobStatus.SUCCEEDED).id
        datasets.delete(session, dataset=dataset)
    with session_scope(any_engine) as session:
        job = session.get_one(Job, job_id)
        assert (job.dataset_id, job.status) == (None, JobStatus.SUCCEEDED)
        assert session.get(Dataset, dataset.id) is None


def _training(dataset: dict[str, Any], **loss: Any) -> TrainingSpec:
    return TrainingSpec.model_validate(
        {
            "dataset": dataset,
            "model": {"layers": [{"type": "Linear", "out_features": 3}]},
            "loss": {"type": "CrossEntropyLoss"} | loss,
            "optimizer": {"type": "Adam"},
            "training": {"epochs": 1, "batch_size": 2},
        }
    )


def test_resolving_fills_in_the_upload_and_checks_again(session: Session) -> None:
    user = _user(session)
    dataset = _store(session, user, get_settings().DATA_DIR)
    spec = _training({"type": "upload", "id": str(dataset.id), "split": {"val": 1}})
    resolved = datasets.resolve_spec(session, spec=spec, user=user)
    assert isinstance(resolved.dataset, UploadSpec)
    assert resolved.dataset.info == datasets.upload_info(dataset)
    assert (resolved.dataset.sample_shape(), resolved.n_train_samples()) == ((2,), 3)
    assert resolved.dataset.data_dir == get_settings().DATA_DIR
    assert datasets.upload_id(resolved) == dataset.id
    too_many = _training({"type": "upload", "id": str(dataset.id), "split": {"test": 4}})
    with pytest.raises(SpecRejected) as caught:
        datasets.resolve_spec(session, spec=too_many, user=user)
    detail = caught.value.detail
    assert isinstance(detail, list)
    [error] = detail
    assert error["field"] == "spec.dataset.split"
    assert "training needs at least one" in error["msg"]
    with pytest.raises(DatasetNotFound):
        datasets.resolve_spec(session, spec=spec, user=_user(session))
    session.rollback()


def test_specs_without_files_are_left_as_they_are(session: Session) -> None:
    spec = _training({"type": "iris"})
    assert datasets.resolve_spec(session, spec=spec, user=_user(session)) is spec
    assert datasets.upload_id(spec) is None
    session.rollback()
