"""Uploaded files: recognising, reading and describing CSV, NPZ and Parquet, and their targets."""

import hashlib
import pickle
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pydantic import TypeAdapter, ValidationError

from training.build.data import build_dataset
from training.datasets.errors import DataUnavailable, FileProblem
from training.datasets.files import Arrays, read_upload, sniff, upload_path
from training.datasets.info import UploadInfo
from training.spec import TrainingSpec
from training.spec.data import DatasetSpec, upload_target_kinds
from training.spec.targets import TargetKind

DATASET: TypeAdapter[Any] = TypeAdapter(DatasetSpec)
IRIS_CSV = (
    "sepal,petal,species\n5.1,1.4,setosa\n7.0,4.7,versicolor\n6.3,6.0,virginica\n4.9,1.4,setosa\n"
)


def _file(tmp_path: Path, name: str, content: bytes | str) -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def _npz(tmp_path: Path, **arrays: Any) -> Path:
    path = tmp_path / "data.npz"
    np.savez(path, **arrays)
    return path


def test_csv_with_text_labels(tmp_path: Path) -> None:
    arrays = read_upload(_file(tmp_path, "a.csv", "\ufeff" + IRIS_CSV), "csv", "species")
    assert arrays.x == pytest.approx(np.array([[5.1, 1.4], [7.0, 4.7], [6.3, 6.0], [4.9, 1.4]]))
    assert arrays.x.dtype == np.float32
    assert (arrays.label_type, arrays.classes) == ("text", ["setosa", "versicolor", "virginica"])
    assert arrays.y.tolist() == [0, 1, 2, 0]
    assert arrays.class_counts() == {"setosa": 2, "versicolor": 1, "virginica": 1}
    info = arrays.describe("csv", "0" * 64, "species")
    assert (info.n_samples, info.sample_shape, info.label_shape, info.num_labels) == (
        4,
        (2,),
        (),
        3,
    )


@pytest.mark.parametrize(
    ("labels", "label_type", "values"),
    [
        (["3", "0", " 1"], "integer", [3, 0, 1]),
        (["0.5", "2", "-1e3"], "real", [0.5, 2.0, -1000.0]),
        (["yes", "2", "no"], "text", [2, 0, 1]),  # text labels numbered in sorted order
    ],
)
def test_csv_label_types(
    tmp_path: Path, labels: list[str], label_type: str, values: list[Any]
) -> None:
    body = "a,target\n" + "".join(f"{i},{label}\n" for i, label in enumerate(labels))
    arrays = read_upload(_file(tmp_path, "a.csv", body), "csv", "target")
    assert arrays.label_type == label_type
    assert arrays.y.tolist() == pytest.approx(values)


@pytest.mark.parametrize(
    ("body", "target", "message"),
    [
        (IRIS_CSV, "label", "line 1: no column named 'label'; the columns are"),
        (IRIS_CSV, None, "name the target column"),
        ("a,b,y\n1,2,0\n3,4\n", "y", "line 3 has 2 fields; the header has 3"),
        ("a,b,y\n1,2,0\n3,x,1\n", "y", "line 3, column 'b': 'x' is not a number"),
        ("a,b,y\n1,nan,0\n", "y", "line 2, column 'b': 'nan' is not a finite float32"),
        ("a,b,y\n1,1e39,0\n", "y", "not a finite float32"),
        ("a,b,y\n1,2,\n", "y", "line 2: the target 'y' is empty"),
        ("a,a,y\n1,2,0\n", "y", "names a column twice"),
        ("y\n1\n", "y", "no feature columns"),
        ("a,y\n", "y", "no data lines"),
        ('a,y\n"1,0\n', "y", "line"),
    ],
)
def test_malformed_csv_names_the_line(
    tmp_path: Path, body: str, target: str | None, message: str
) -> None:
    with pytest.raises(FileProblem, match=message.replace("(", r"\(")):
        read_upload(_file(tmp_path, "a.csv", body), "csv", target)


def test_csv_that_is_not_utf8_names_the_line(tmp_path: Path) -> None:
    path = _file(tmp_path, "a.csv", b"a,y\n1,0\n2,\xff\xfe\n")
    with pytest.raises(FileProblem, match="not UTF-8"):
        read_upload(path, "csv", "y")


def test_npz_arrays(tmp_path: Path) -> None:
    x = np.arange(24, dtype=np.int16).reshape(4, 2, 3)
    arrays = read_upload(_npz(tmp_path, x=x, y=np.array([1, 0, 1, 1])), "npz", None)
    assert arrays.x.dtype == np.float32
    assert arrays.x.shape == (4, 2, 3)
    assert (arrays.label_type, arrays.class_counts()) == ("integer", {"0": 1, "1": 3})
    flat = read_upload(_npz(tmp_path, x=np.arange(3.0), y=np.array(["b", "a", "b"])), "npz", None)
    assert flat.x.shape == (3, 1)
    assert flat.classes == ["a", "b"]
    assert flat.y.tolist() == [1, 0, 1]
    real = read_upload(_npz(tmp_path, x=np.ones((2, 2)), y=np.ones((2, 3))), "npz", None)
    assert real.describe("npz", "0" * 64, None).label_shape == (3,)


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        (
            {"x": np.array([{"a": 1}, None], dtype=object), "y": np.zeros(2)},
            "array 'x' holds Python objects",
        ),
        (
            {"x": np.zeros((2, 1)), "y": np.array([[1], "a"], dtype=object)},
            "array 'y' holds Python objects",
        ),
        (
            {"features": np.zeros(2), "y": np.zeros(2)},
            r"holds the arrays \['features', 'y'\]; it needs x and y",
        ),
        ({"x": np.zeros((3, 2)), "y": np.zeros(2)}, "x has 3 rows and y 2"),
        ({"x": np.zeros((2, 0)), "y": np.zeros(2)}, "at least one value per sample"),
        ({"x": np.array([[1.0, np.inf]]), "y": np.zeros(1)}, "array 'x' holds 1 NaN or infinite"),
        ({"x": np.zeros((2, 2), dtype=complex), "y": np.zeros(2)}, "array 'x' holds complex128"),
    ],
)
def test_bad_npz_names_the_array(tmp_path: Path, arrays: dict[str, Any], message: str) -> None:
    with pytest.raises(FileProblem, match=message):
        read_upload(_npz(tmp_path, **arrays), "npz", None)


def test_many_distinct_integer_labels_are_not_counted_as_classes(tmp_path: Path) -> None:
    path = _npz(tmp_path, x=np.zeros((2000, 1)), y=np.arange(2000))
    arrays = read_upload(path, "npz", None)
    assert arrays.class_counts() is None
    assert arrays.describe("npz", "0" * 64, None).num_labels == 2000


def test_npz_with_a_target_column_or_broken_zip(tmp_path: Path) -> None:
    path = _npz(tmp_path, x=np.zeros((2, 2)), y=np.zeros(2))
    with pytest.raises(FileProblem, match="target is for CSV and Parquet"):
        read_upload(path, "npz", "y")
    broken = _file(tmp_path, "b.npz", path.read_bytes()[:40])
    with pytest.raises(FileProblem, match="not a readable NPZ file"):
        read_upload(broken, "npz", None)


def _parquet(tmp_path: Path, columns: dict[str, Any]) -> Path:
    path = tmp_path / "data.parquet"
    pq.write_table(pa.table(columns), path)
    return path


def test_parquet_columns(tmp_path: Path) -> None:
    columns = {"a": [1.0, 2.0, 3.0], "b": pa.array([1, 0, 1], pa.int8()), "y": ["u", "v", "u"]}
    arrays = read_upload(_parquet(tmp_path, columns), "parquet", "y")
    assert arrays.x.tolist() == [[1.0, 1.0], [2.0, 0.0], [3.0, 1.0]]
    assert (arrays.classes, arrays.y.tolist()) == (["u", "v"], [0, 1, 0])
    categorical = {"a": [1, 2], "y": pa.array(["p", "q"]).dictionary_encode()}
    assert read_upload(_parquet(tmp_path, categorical), "parquet", "y").classes == ["p", "q"]
    regression = read_upload(_parquet(tmp_path, {"a": [1, 2], "y": [0.5, 1.5]}), "parquet", "y")
    assert regression.label_type == "real"


@pytest.mark.parametrize(
    ("columns", "target", "message"),
    [
        (
            {"a": [1.0, None, 3.0], "y": [0, 1, 0]},
            "y",
            "column 'a' has 1 missing values, first in row 2",
        ),
        ({"a": ["x", "y"], "y": [0, 1]}, "y", "column 'a' holds string; it must hold numbers"),
        ({"a": [1, 2], "y": [0, None]}, "y", "target 'y' has 1 missing values"),
        (
            {"a": [1, 2], "y": [0, 1]},
            "label",
            r"no column named 'label'; the columns are \['a', 'y'\]",
        ),
    ],
)
def test_bad_parquet_names_the_column(
    tmp_path: Path, columns: dict[str, Any], target: str, message: str
) -> None:
    with pytest.raises(FileProblem, match=message):
        read_upload(_parquet(tmp_path, columns), "parquet", target)
    with pytest.raises(FileProblem, match="not a readable Parquet file"):
        read_upload(_file(tmp_path, "bad.parquet", b"PAR1 nothing PAR1"), "parquet", "y")


def test_formats_are_recognised_by_content_and_pickles_refused(tmp_path: Path) -> None:
    assert sniff(_npz(tmp_path, x=np.zeros(1), y=np.zeros(1)).read_bytes()[:64]) == "npz"
    assert sniff(_parquet(tmp_path, {"a": [1]}).read_bytes()[:64]) == "parquet"
    assert sniff("a,b\n1,é".encode()[:-1]) == "csv"  # a character cut by the probe
    refusals = {
        pickle.dumps({"x": [1, 2]}): "Python pickle, which gradq never loads",
        b"\x93NUMPY\x01\x00": "single .npy array",
        b"\x1f\x8b\x08\x00": "gzip-compressed",
        b"\x00\x01\x02\xff\xfe binary": "not a CSV",
        b"": "the file is empty",
    }
    for head, message in refusals.items():
        with pytest.raises(FileProblem, match=message):
            sniff(head)


def _info(**fields: Any) -> UploadInfo:
    base = {
        "format": "csv",
        "sha256": "0" * 64,
        "n_samples": 4,
        "sample_shape": (2,),
        "label_shape": (),
        "label_type": "integer",
        "num_labels": 2,
        "label_min": 0.0,
        "label_max": 1.0,
    }
    return UploadInfo.model_validate(base | fields)


@pytest.mark.parametrize(
    ("fields", "kinds"),
    [
        ({}, ["class_index", "probabilities", "binary", "sign", "regression", "count"]),
        (
            {"num_labels": 3, "label_max": 2.0},
            ["class_index", "probabilities", "regression", "count"],
        ),
        (
            {"label_type": "text", "label_min": None, "label_max": None},
            ["class_index", "probabilities", "binary", "sign"],
        ),
        ({"label_type": "real", "num_labels": None, "label_max": 0.5}, ["regression"]),
        (
            {"label_shape": (3,), "num_labels": 2},
            ["class_index", "multi_label", "regression", "count"],
        ),
        ({"label_min": -1.0, "num_labels": None}, ["regression"]),
    ],
)
def test_the_target_kinds_an_upload_can_give(fields: dict[str, Any], kinds: list[str]) -> None:
    assert [kind.value for kind in upload_target_kinds(_info(**fields))] == kinds


def _stored(tmp_path: Path, body: str, target: str) -> tuple[uuid.UUID, dict[str, Any]]:
    """An upload as the server keeps it, and its spec's info."""
    dataset_id = uuid.uuid4()
    path = upload_path(tmp_path, dataset_id, "csv")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body)
    sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
    arrays: Arrays = read_upload(path, "csv", target)
    return dataset_id, arrays.describe("csv", sha256, target).model_dump(mode="json")


@pytest.mark.parametrize(
    ("kind", "shape", "first"),
    [
        ("class_index", (4,), 0),
        ("probabilities", (4, 3), [1.0, 0.0, 0.0]),
    ],
)
def test_an_upload_builds_in_its_target_kind(
    tmp_path: Path, kind: str, shape: tuple[int, ...], first: Any
) -> None:
    dataset_id, info = _stored(tmp_path, IRIS_CSV, "species")
    spec = DATASET.validate_python(
        {"type": "upload", "id": dataset_id, "target_kind": kind, "info": info}
    )
    data = build_dataset(spec, tmp_path)
    assert tuple(data.y.shape) == shape == (4, *spec.target_shape())
    assert data.y[0].tolist() == first
    assert data.x.shape == (4, *spec.sample_shape())
    assert data.num_classes == 3


def test_an_upload_of_numbers_trains_as_regression(tmp_path: Path) -> None:
    dataset_id, info = _stored(tmp_path, "a,b,y\n1,2,0.5\n3,4,1.5\n5,6,2.5\n", "y")
    spec = DATASET.validate_python(
        {"type": "upload", "id": dataset_id, "target_kind": "regression", "info": info}
    )
    data = build_dataset(spec, tmp_path)
    assert data.y.tolist() == [[0.5], [1.5], [2.5]]
    assert data.target_kind == TargetKind.REGRESSION
    with pytest.raises(ValidationError, match="the target kinds it can give: regression"):
        DATASET.validate_python({"type": "upload", "id": dataset_id, "info": info})


def test_an_upload_that_changed_or_vanished_is_not_trained_on(tmp_path: Path) -> None:
    dataset_id, info = _stored(tmp_path, IRIS_CSV, "species")
    spec = DATASET.validate_python({"type": "upload", "id": dataset_id, "info": info})
    path = upload_path(tmp_path, dataset_id, "csv")
    path.write_text(IRIS_CSV.replace("5.1", "5.2"))
    with pytest.raises(DataUnavailable, match="changed since the job was submitted"):
        build_dataset(spec, tmp_path)
    path.unlink()
    with pytest.raises(DataUnavailable, match="no longer on the server"):
        build_dataset(spec, tmp_path)


def test_an_unresolved_upload_parses_and_records_its_declared_kind() -> None:
    spec = TrainingSpec.model_validate(
        {
            "dataset": {"type": "upload", "id": str(uuid.uuid4()), "split": {"val": 0.2}},
            "model": {"layers": [{"type": "Linear", "out_features": 3}]},
            "loss": {"type": "CrossEntropyLoss"},
            "optimizer": {"type": "Adam"},
            "training": {"epochs": 2, "early_stopping": {"monitor": "val_accuracy", "mode": "max"}},
        }
    )
    assert not spec.dataset.resolved()
    assert spec.n_train_samples() == 0
    assert "val_accuracy" in spec.recorded_metrics()
    with pytest.raises(DataUnavailable, match="not resolved"):
        build_dataset(spec.dataset, Path("."))
