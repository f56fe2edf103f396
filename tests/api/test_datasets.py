"""Uploads over HTTP: formats, ownership, jobs on them, deletion, refusals that leave no trace."""

import hashlib
import io
import pickle
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from core.db import session_factory, session_scope
from core.settings import get_settings
from models import Dataset, Job, JobStatus
from worker.runner import run_job

Headers = dict[str, str]
API = "/api/v1/datasets"
CSV = "a,b,kind\n" + "".join(f"{i % 7},{i % 5},{'odd' if i % 2 else 'even'}\n" for i in range(40))


def _upload(
    client: TestClient, headers: Headers, content: bytes, name: str = "d.csv", **fields: str
) -> Any:
    return client.post(API, files={"file": (name, content)}, data=fields, headers=headers)


def _npz_bytes(**arrays: Any) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _parquet_bytes(columns: dict[str, Any]) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(pa.table(columns), buffer)
    return buffer.getvalue()


def _uploads_dir() -> Path:
    return get_settings().DATA_DIR / "datasets" / "uploads"


def _traces() -> tuple[int, list[str]]:
    """Rows in the datasets table and files in the uploads directory."""
    with session_factory()() as session:
        rows = int(session.scalar(select(func.count()).select_from(Dataset)) or 0)
    files = sorted(p.name for p in _uploads_dir().iterdir()) if _uploads_dir().exists() else []
    return rows, files


def test_csv_upload_is_measured_and_read_back(client: TestClient, alice: Headers) -> None:
    response = _upload(client, alice, CSV.encode(), target="kind", name="parity")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["name"] == "parity"
    assert (body["format"], body["n_rows"], body["sample_shape"], body["dtype"]) == (
        "csv",
        40,
        [2],
        "float32",
    )
    assert (body["label_type"], body["classes"], body["class_counts"]) == (
        "text",
        ["even", "odd"],
        {"even": 20, "odd": 20},
    )
    assert body["target_kinds"] == ["class_index", "probabilities", "binary", "sign"]
    stored = _uploads_dir() / f"{body['id']}.csv"
    assert stored.read_bytes() == CSV.encode()
    assert body["sha256"] == hashlib.sha256(CSV.encode()).hexdigest()
    assert client.get(f"{API}/{body['id']}", headers=alice).json() == body
    assert body["id"] in [item["id"] for item in client.get(API, headers=alice).json()["items"]]


def test_npz_and_parquet_uploads(client: TestClient, alice: Headers) -> None:
    images = np.random.default_rng(0).random((12, 1, 4, 4))
    npz = _upload(client, alice, _npz_bytes(x=images, y=np.arange(12) % 3), name="i.npz")
    assert npz.status_code == 201, npz.text
    assert (npz.json()["sample_shape"], npz.json()["num_labels"]) == ([1, 4, 4], 3)
    assert npz.json()["class_counts"] == {"0": 4, "1": 4, "2": 4}
    parquet = _parquet_bytes({"a": [1.0, 2.0, 3.0], "b": [0, 1, 0], "y": [0.1, 0.2, 0.3]})
    response = _upload(client, alice, parquet, name="t.parquet", target="y")
    assert response.status_code == 201, response.text
    assert (response.json()["label_type"], response.json()["target_kinds"]) == (
        "real",
        ["regression"],
    )


def test_a_data_set_belongs_to_its_uploader(
    client: TestClient, alice: Headers, bob: Headers, admin: Headers
) -> None:
    dataset_id = _upload(client, alice, CSV.encode(), target="kind").json()["id"]
    assert client.get(f"{API}/{dataset_id}", headers=bob).status_code == 404
    assert client.delete(f"{API}/{dataset_id}", headers=bob).status_code == 404
    assert dataset_id not in [item["id"] for item in client.get(API, headers=bob).json()["items"]]
    assert client.get(f"{API}/{dataset_id}", headers=admin).status_code == 200
    assert client.get(f"{API}/{uuid.uuid4()}", headers=alice).json()["error"] == "DatasetNotFound"


def test_listing_pages_newest_first(client: TestClient, bob: Headers) -> None:
    ids = [_upload(client, bob, CSV.encode(), target="kind").json()["id"] for _ in range(3)]
    first = client.get(API, params={"limit": 2}, headers=bob).json()
    rest = client.get(API, params={"cursor": first["next_cursor"]}, headers=bob).json()
    assert [i["id"] for i in first["items"] + rest["items"]] == ids[::-1]
    assert rest["next_cursor"] is None
    assert client.get(API, params={"cursor": "nope"}, headers=bob).status_code == 422


def _spec(dataset: dict[str, Any], outputs: int = 2) -> dict[str, Any]:
    return {
        "dataset": dataset,
        "model": {"layers": [{"type": "Linear", "out_features": outputs}]},
        "loss": {"type": "CrossEntropyLoss"},
        "optimizer": {"type": "Adam", "lr": 0.05},
        "training": {"epochs": 3},
    }


def test_a_job_trains_on_an_upload_by_its_id(
    client: TestClient, alice: Headers, migrated_database: Engine
) -> None:
    dataset_id = _upload(client, alice, CSV.encode(), target="kind").json()["id"]
    dataset = {"type": "upload", "id": dataset_id, "split": {"val": 0.25, "stratify": True}}
    response = client.post("/api/v1/jobs", json={"spec": _spec(dataset)}, headers=alice)
    assert response.status_code == 201, response.text
    info = response.json()["spec"]["dataset"]["info"]
    assert (info["n_samples"], info["sample_shape"], info["num_labels"]) == (40, [2], 2)
    job_id = uuid.UUID(response.json()["id"])
    with session_scope(migrated_database) as session:
        assert str(session.get_one(Job, job_id).dataset_id) == dataset_id
    run_job(job_id, migrated_database)
    job = client.get(f"/api/v1/jobs/{job_id}", headers=alice).json()
    assert job["status"] == "succeeded", job["error"]
    assert {"val_loss", "val_accuracy"} <= set(job["final_metrics"])


def test_a_job_on_someone_elses_or_an_unknown_upload_is_404(
    client: TestClient, alice: Headers, bob: Headers
) -> None:
    dataset_id = _upload(client, alice, CSV.encode(), target="kind").json()["id"]
    with session_factory()() as session:
        jobs_before = session.scalar(select(func.count()).select_from(Job))
    for headers, target in ((bob, dataset_id), (alice, str(uuid.uuid4()))):
        spec = _spec({"type": "upload", "id": target})
        response = client.post("/api/v1/jobs", json={"spec": spec}, headers=headers)
        assert response.status_code == 404
        assert response.json()["error"] == "DatasetNotFound"
    with session_factory()() as session:
        assert session.scalar(select(func.count()).select_from(Job)) == jobs_before


def test_a_target_kind_the_upload_cannot_give_is_422(client: TestClient, alice: Headers) -> None:
    dataset_id = _upload(client, alice, CSV.encode(), target="kind").json()["id"]
    spec = _spec({"type": "upload", "id": dataset_id, "target_kind": "regression"}, outputs=1)
    spec["loss"] = {"type": "MSELoss"}
    response = client.post("/api/v1/jobs", json={"spec": spec}, headers=alice)
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["field"] == "spec.dataset.target_kind"
    assert "text labels" in error["msg"]
    wide = _spec({"type": "upload", "id": dataset_id}, outputs=5)
    response = client.post("/api/v1/jobs", json={"spec": wide}, headers=alice)
    assert response.status_code == 201
    assert "the data set has only 2 classes" in response.json()["warnings"][0]


def test_delete_waits_for_the_jobs_that_use_it(client: TestClient, alice: Headers) -> None:
    dataset_id = _upload(client, alice, CSV.encode(), target="kind").json()["id"]
    spec = _spec({"type": "upload", "id": dataset_id})
    job_id = client.post("/api/v1/jobs", json={"spec": spec}, headers=alice).json()["id"]
    refused = client.delete(f"{API}/{dataset_id}", headers=alice)
    assert (refused.status_code, refused.json()["error"]) == (409, "DatasetInUse")
    assert job_id in refused.json()["detail"]
    client.post(f"/api/v1/jobs/{job_id}/cancel", headers=alice)
    assert client.delete(f"{API}/{dataset_id}", headers=alice).status_code == 204
    assert not (_uploads_dir() / f"{dataset_id}.csv").exists()
    assert client.get(f"{API}/{dataset_id}", headers=alice).status_code == 404
    job = client.get(f"/api/v1/jobs/{job_id}", headers=alice).json()
    assert job["status"] == JobStatus.CANCELLED


@pytest.fixture
def small_limit(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """GRADQ_MAX_UPLOAD_BYTES at 1000 for one test."""
    monkeypatch.setenv("GRADQ_MAX_UPLOAD_BYTES", "1000")
    get_settings.cache_clear()
    yield 1000
    get_settings.cache_clear()


BAD_UPLOADS = [
    ("a.pkl", pickle.dumps({"x": [1, 2], "y": [0, 1]}), {}, 422, "Python pickle"),
    (
        "o.npz",
        _npz_bytes(x=np.array([{"a": 1}, None], dtype=object), y=np.zeros(2)),
        {},
        422,
        "array 'x' holds Python objects",
    ),
    ("m.csv", CSV.encode(), {"target": "label"}, 422, "no column named 'label'"),
    ("r.csv", b"a,b,y\n1,2,0\n3,4\n5,6,1\n", {"target": "y"}, 422, "line 3 has 2 fields"),
    ("n.csv", CSV.encode(), {}, 422, "name the target column"),
]


@pytest.mark.parametrize(
    ("name", "content", "fields", "status", "message"), BAD_UPLOADS, ids=[b[0] for b in BAD_UPLOADS]
)
def test_bad_uploads_are_refused_without_a_trace(
    client: TestClient,
    alice: Headers,
    name: str,
    content: bytes,
    fields: dict[str, str],
    status: int,
    message: str,
) -> None:
    before = _traces()
    response = _upload(client, alice, content, name=name, **fields)
    assert response.status_code == status
    assert response.json()["error"] == "DatasetRejected"
    assert message in response.json()["detail"]
    assert _traces() == before


def test_one_byte_over_the_limit_is_413_without_a_trace(
    client: TestClient, alice: Headers, small_limit: int
) -> None:
    def body(size: int) -> bytes:
        rows = b"a,y\n" + b"1,0\n" * 240  # 964 bytes, then one row padded to the size
        return rows + b"1" + b"0" * (size - len(rows) - 4) + b",1\n"

    at_limit = body(small_limit)
    assert len(at_limit) == small_limit
    assert _upload(client, alice, at_limit, target="y").status_code == 201
    before = _traces()
    over = body(small_limit + 1)
    response = _upload(client, alice, over, target="y")
    assert (response.status_code, response.json()["error"]) == (413, "UploadTooLarge")
    assert "upload limit of 1,000 bytes" in response.json()["detail"]
    assert _traces() == before


def test_a_body_declared_far_too_large_is_refused_before_it_is_read(
    client: TestClient, alice: Headers, small_limit: int
) -> None:
    before = _traces()
    response = _upload(client, alice, b"a,y\n" + b"1,0\n" * 30_000, target="y")
    assert response.status_code == 413
    assert "the request declares" in response.json()["detail"]
    chunked = client.post(
        API,
        content=iter([b"--x\r\n", b"data"]),
        headers=alice | {"content-type": "multipart/form-data; boundary=x"},
    )
    assert (chunked.status_code, chunked.json()["error"]) == (411, "LengthRequired")
    assert _traces() == before
    assert small_limit == get_settings().MAX_UPLOAD_BYTES
