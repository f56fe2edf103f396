"""MNIST-family IDX files made in the test: reading, resolution, and the articles' MLP on them."""

import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient
from pydantic import TypeAdapter
from sqlalchemy import Engine

from core.db import session_scope
from core.settings import get_settings
from models import Job, JobStatus
from training.build.data import build_dataset
from training.datasets.errors import DataUnavailable, FileProblem
from training.datasets.idx import read_header, read_idx, set_dir, subset_size, write_idx
from training.loop import fit
from training.run import build_run
from training.sinks import ListSink
from training.spec import TrainingSpec
from training.spec.data import DatasetSpec
from worker.runner import run_job

DATASET: TypeAdapter[Any] = TypeAdapter(DatasetSpec)
Headers = dict[str, str]


def _images(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Ten classes, each a fixed sparse pattern on a dark background, with noise."""
    templates = (np.random.default_rng(99).random((10, 28, 28)) < 0.25) * 220.0
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, size=n)
    noise = rng.normal(0, 80, size=(n, 28, 28))
    images = np.clip(templates[labels] + noise, 0, 255).astype(np.uint8)
    return images, labels.astype(np.uint8)


def write_set(data_dir: Path, name: str, n: int, *, train: bool = True, gz: bool = True) -> None:
    prefix = "train" if train else "t10k"
    suffix = ".gz" if gz else ""
    images, labels = _images(n, seed=n)
    write_idx(set_dir(data_dir, name) / f"{prefix}-images-idx3-ubyte{suffix}", images)
    write_idx(set_dir(data_dir, name) / f"{prefix}-labels-idx1-ubyte{suffix}", labels)


@pytest.mark.parametrize("name", ["a.idx", "a.idx.gz"])
@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
def test_idx_round_trip(tmp_path: Path, name: str, dtype: Any) -> None:
    array = (np.arange(2 * 3 * 4) - 5).reshape(2, 3, 4).astype(dtype)
    write_idx(tmp_path / name, array)
    stored, shape = read_header(tmp_path / name)
    assert shape == (2, 3, 4)
    assert (stored.kind, stored.itemsize) == (np.dtype(dtype).kind, np.dtype(dtype).itemsize)
    back = read_idx(tmp_path / name)
    assert back.dtype == np.dtype(dtype)
    assert np.array_equal(back, array)
    assert np.array_equal(read_idx(tmp_path / name, limit=1), array[:1])


def test_broken_idx_files_are_named(tmp_path: Path) -> None:
    (tmp_path / "x").write_bytes(b"\x00\x00\x08\x03\x00\x00\x00\x02")
    with pytest.raises(FileProblem, match="ends inside its header"):
        read_idx(tmp_path / "x")
    (tmp_path / "y").write_bytes(b"PK\x03\x04 not idx")
    with pytest.raises(FileProblem, match="is not an IDX file"):
        read_idx(tmp_path / "y")
    write_idx(tmp_path / "z", np.zeros((4, 2), dtype=np.uint8))
    (tmp_path / "z").write_bytes((tmp_path / "z").read_bytes()[:-3])
    with pytest.raises(FileProblem, match="its header promises 8"):
        read_idx(tmp_path / "z")


def test_missing_files_say_where_to_put_them(tmp_path: Path) -> None:
    with pytest.raises(DataUnavailable) as caught:
        subset_size(tmp_path, "mnist", True)
    message = str(caught.value)
    assert str((tmp_path / "datasets" / "mnist").resolve()) in message
    assert "train-images-idx3-ubyte and train-labels-idx1-ubyte" in message


def test_an_idx_set_loads_scaled_with_its_metadata(tmp_path: Path) -> None:
    write_set(tmp_path, "mnist", 30, gz=False)
    write_set(tmp_path, "mnist", 12, train=False)
    assert subset_size(tmp_path, "mnist", True) == 30
    spec = DATASET.validate_python({"type": "mnist", "info": {"n_samples": 30}})
    data = build_dataset(spec, tmp_path)
    images, labels = _images(30, seed=30)
    assert data.x.shape == (30, 1, 28, 28) == (30, *spec.sample_shape())
    assert torch.allclose(data.x[:, 0], torch.as_tensor(images / 255, dtype=torch.float32))
    assert data.y.tolist() == labels.tolist()
    assert data.num_classes == 10
    test = DATASET.validate_python(
        {
            "type": "mnist",
            "train": False,
            "flatten": True,
            "max_samples": 5,
            "target_kind": "probabilities",
            "info": {"n_samples": 12},
        }
    )
    assert test.size() == 5
    small = build_dataset(test, tmp_path)
    assert small.x.shape == (5, 784)
    assert small.y.shape == (5, 10)
    stale = DATASET.validate_python({"type": "mnist", "info": {"n_samples": 31}})
    with pytest.raises(DataUnavailable, match="now hold 30 samples"):
        build_dataset(stale, tmp_path)


def test_an_unresolved_idx_set_parses_and_waits_for_its_size() -> None:
    spec = TrainingSpec.model_validate(_mlp_spec({"type": "fashion_mnist"}))
    assert (spec.dataset.size(), spec.dataset.resolved(), spec.n_train_samples()) == (
        None,
        False,
        0,
    )


def _mlp_spec(dataset: dict[str, Any]) -> dict[str, Any]:
    """CATALOGUE section 8: MLP 784-256-256-10, Dropout 0.2/0.5, SGD lr 0.5, batch 256."""
    return {
        "dataset": dataset,
        "model": {
            "layers": [
                {"type": "Flatten"},
                {"type": "Linear", "out_features": 256},
                {"type": "ReLU"},
                {"type": "Dropout", "p": 0.2},
                {"type": "Linear", "out_features": 256},
                {"type": "ReLU"},
                {"type": "Dropout", "p": 0.5},
                {"type": "Linear", "out_features": 10},
            ],
            "init": [{"layer_types": ["Linear"], "weight": {"type": "normal_", "std": 0.01}}],
        },
        "loss": {"type": "CrossEntropyLoss"},
        "optimizer": {"type": "SGD", "lr": 0.5},
        "training": {"epochs": 10, "batch_size": 256, "seed": 0},
    }


def test_the_fashion_mnist_mlp_trains_on_generated_idx_files(tmp_path: Path) -> None:
    write_set(tmp_path, "fashion_mnist", 1500)
    dataset = {"type": "fashion_mnist", "info": {"n_samples": 1500}, "split": {"test": 0.2}}
    run = build_run(TrainingSpec.model_validate(_mlp_spec(dataset)), torch.device("cpu"), tmp_path)
    sink = ListSink()
    result = fit(run, sink)
    assert sink.epochs[0]["iterations"] == 5  # 1200 training images at batch 256
    assert sink.epochs[-1]["train_loss"] < 0.5
    assert result.test_metrics["test_accuracy"] > 0.7


def test_fashion_mnist_through_the_api_and_the_worker(
    client: TestClient, alice: Headers, migrated_database: Engine
) -> None:
    data_dir = get_settings().DATA_DIR
    missing = client.post(
        "/api/v1/jobs", json={"spec": _mlp_spec({"type": "mnist", "train": False})}, headers=alice
    )
    assert missing.status_code == 422
    [error] = missing.json()["detail"]
    assert error["field"] == "spec.dataset.type"
    assert str(set_dir(data_dir, "mnist").resolve()) in error["msg"]
    write_set(data_dir, "fashion_mnist", 1500)
    spec = _mlp_spec({"type": "fashion_mnist", "split": {"test": 0.2, "stratify": True}})
    created = client.post("/api/v1/jobs", json={"spec": spec}, headers=alice)
    assert created.status_code == 201, created.text
    assert created.json()["spec"]["dataset"]["info"] == {"n_samples": 1500}
    job_id = uuid.UUID(created.json()["id"])
    run_job(job_id, migrated_database)
    with session_scope(migrated_database) as session:
        job = session.get_one(Job, job_id)
        assert job.status == JobStatus.SUCCEEDED, job.error
        assert job.final_metrics is not None
        assert job.final_metrics["test_accuracy"] > 0.7
