"""Uploaded data files: recognise CSV, NPZ and Parquet, read them into arrays, describe them."""

import csv
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from training.datasets.errors import FileProblem
from training.datasets.info import LabelType, UploadInfo

Format = Literal["csv", "npz", "parquet"]
FORMATS: tuple[Format, ...] = ("csv", "npz", "parquet")
# features plus targets read from one file: 500M float32 values are 2 GB
MAX_VALUES = 500_000_000
NUMERIC_KINDS = "biuf"
FLOAT32_MAX = float(np.finfo(np.float32).max)
# more distinct labels than this look like values, not classes: they are not counted
MAX_COUNTED_LABELS = 1000


@dataclass(frozen=True)
class Arrays:
    """Features x (N, ...) as float32; labels y (N, ...) as int64 (integer, text) or float32."""

    x: np.ndarray
    y: np.ndarray
    label_type: LabelType
    classes: list[str] | None = None

    def describe(self, fmt: Format, sha256: str, target_column: str | None) -> UploadInfo:
        numeric = self.label_type != "text" and self.y.size > 0
        low = float(self.y.min()) if numeric else None
        high = float(self.y.max()) if numeric else None
        if self.classes is not None:
            num_labels: int | None = len(self.classes)
        elif self.label_type == "integer" and low is not None and low >= 0:
            num_labels = int(high or 0) + 1
        else:
            num_labels = None
        return UploadInfo(
            format=fmt,
            sha256=sha256,
            target_column=target_column,
            n_samples=len(self.x),
            sample_shape=tuple(self.x.shape[1:]),
            label_shape=tuple(self.y.shape[1:]),
            label_type=self.label_type,
            num_labels=num_labels,
            label_min=low,
            label_max=high,
        )

    def class_counts(self) -> dict[str, int] | None:
        """Samples per class label, for one integer or text label per sample; else None."""
        if self.y.ndim != 1 or self.label_type == "real":
            return None
        labels, counts = np.unique(self.y, return_counts=True)
        if len(labels) > MAX_COUNTED_LABELS:
            return None
        names = [self.classes[i] if self.classes else str(i) for i in labels.tolist()]
        return dict(zip(names, counts.tolist(), strict=True))


def upload_path(data_dir: Path, dataset_id: uuid.UUID, fmt: str) -> Path:
    """Where the server keeps an uploaded file."""
    return data_dir / "datasets" / "uploads" / f"{dataset_id}.{fmt}"


def sniff(head: bytes) -> Format:
    """The format of a file from its first bytes; FileProblem for anything gradq never reads."""
    if not head:
        raise FileProblem("the file is empty")
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "npz"
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"\x93NUMPY"):
        raise FileProblem("this is a single .npy array; save x and y together with numpy.savez")
    if head[0] == 0x80 and len(head) > 1 and 2 <= head[1] <= 5:
        raise FileProblem(
            "this is a Python pickle, which gradq never loads: upload CSV, NPZ or Parquet"
        )
    if head.startswith(b"\x1f\x8b"):
        raise FileProblem("this file is gzip-compressed: upload the CSV itself, or Parquet")
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 3:  # a character cut at the end of the probe is fine
            raise FileProblem("this is not a CSV (UTF-8 text), NPZ or Parquet file") from exc
    if b"\0" in head:
        raise FileProblem("this is not a CSV (UTF-8 text), NPZ or Parquet file")
    return "csv"


def read_upload(path: Path, fmt: Format, target: str | None) -> Arrays:
    """The arrays in an uploaded file; FileProblem names the line, column or array at fault."""
    if fmt == "npz":
        if target:
            raise FileProblem("an NPZ file names its arrays x and y; target is for CSV and Parquet")
        return _read_npz(path)
    if not target:
        raise FileProblem(f"name the target column of the {fmt.upper()} file (the field target)")
    return _read_csv(path, target) if fmt == "csv" else _read_parquet(path, target)


def _finite(x: np.ndarray, what: str) -> None:
    bad = ~np.isfinite(x)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise FileProblem(f"{what} holds {int(bad.sum())} NaN or infinite values, first at {first}")


def _text_labels(values: list[str]) -> tuple[np.ndarray, LabelType, list[str] | None]:
    """Integers if every label is one, else real numbers if every label is one, else text."""
    try:
        return np.array([int(v) for v in values], dtype=np.int64), "integer", None
    except (ValueError, OverflowError):
        pass
    try:
        reals = np.array([float(v) for v in values], dtype=np.float32)
    except ValueError:
        classes = sorted(set(values))
        index = {name: number for number, name in enumerate(classes)}
        return np.array([index[v] for v in values], dtype=np.int64), "text", classes
    _finite(reals, "the target column")
    return reals, "real", None


def _csv_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        try:
            for row in reader:
                if row:
                    yield reader.line_num, row
        except UnicodeDecodeError as exc:
            raise FileProblem(f"line {reader.line_num + 1}: not UTF-8 text") from exc
        except csv.Error as exc:
            raise FileProblem(f"line {reader.line_num}: {exc}") from exc


def _number(line: int, column: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise FileProblem(f"line {line}, column {column!r}: {text!r} is not a number") from None
    if not abs(value) <= FLOAT32_MAX:  # NaN, inf, and what float32 turns into inf
        raise FileProblem(f"line {line}, column {column!r}: {text!r} is not a finite float32")
    return value


def _read_csv(path: Path, target: str) -> Arrays:
    rows = _csv_rows(path)
    header = next(rows, None)
    if header is None:
        raise FileProblem("the CSV file has no header line")
    names = [name.strip() for name in header[1]]
    if len(set(names)) != len(names):
        raise FileProblem(f"line {header[0]}: the header names a column twice")
    if target not in names:
        raise FileProblem(f"line {header[0]}: no column named {target!r}; the columns are {names}")
    label_at = names.index(target)
    feature_at = [i for i in range(len(names)) if i != label_at]
    if not feature_at:
        raise FileProblem("the CSV has no feature columns besides the target")
    x: list[list[float]] = []
    labels: list[str] = []
    for line, row in rows:
        if len(row) != len(names):
            raise FileProblem(f"line {line} has {len(row)} fields; the header has {len(names)}")
        x.append([_number(line, names[i], row[i]) for i in feature_at])
        labels.append(row[label_at].strip())
        if not labels[-1]:
            raise FileProblem(f"line {line}: the target {target!r} is empty")
        if len(x) * len(names) > MAX_VALUES:
            raise FileProblem(f"the file holds more than {MAX_VALUES:,} values")
    if not x:
        raise FileProblem("the CSV file has a header but no data lines")
    y, label_type, classes = _text_labels(labels)
    return Arrays(np.array(x, dtype=np.float32), y, label_type, classes)


def _pyarrow() -> tuple[Any, Any]:
    """pyarrow and pyarrow.parquet, imported when a Parquet file arrives: it is slow to import."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise FileProblem("this server cannot read Parquet files (pyarrow is missing)") from exc
    return pa, pq


def _column(table: Any, name: str, what: str) -> np.ndarray:
    pa, _ = _pyarrow()
    column = table.column(name)
    if column.null_count:
        first = int(np.flatnonzero(column.is_null().to_numpy(zero_copy_only=False))[0])
        raise FileProblem(
            f"{what} {name!r} has {column.null_count} missing values, first in row {first + 1}"
        )
    kind = column.type
    if pa.types.is_dictionary(kind):
        column = column.cast(kind.value_type)
        kind = kind.value_type
    numeric = pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind)
    text = pa.types.is_string(kind) or pa.types.is_large_string(kind)
    if not numeric and not (text and what == "target"):
        raise FileProblem(f"{what} {name!r} holds {kind}; it must hold numbers")
    values: np.ndarray = column.to_numpy(zero_copy_only=False)
    return values


def _read_parquet(path: Path, target: str) -> Arrays:
    pa, pq = _pyarrow()
    try:
        metadata = pq.ParquetFile(path).metadata
        if metadata.num_rows * metadata.num_columns > MAX_VALUES:
            raise FileProblem(f"the file holds more than {MAX_VALUES:,} values")
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise FileProblem(f"not a readable Parquet file: {exc}") from exc
    names = table.column_names
    if target not in names:
        raise FileProblem(f"no column named {target!r}; the columns are {names}")
    if len(names) < 2 or table.num_rows == 0:
        raise FileProblem("the file needs feature columns besides the target, and rows")
    x = np.column_stack([_column(table, n, "column") for n in names if n != target])
    with np.errstate(over="ignore"):
        x = x.astype(np.float32)
    _finite(x, "the features")
    raw = _column(table, target, "target")
    if raw.dtype.kind in "OUS":
        y, label_type, classes = _text_labels([str(value) for value in raw])
        return Arrays(x, y, label_type, classes)
    if raw.dtype.kind == "f":
        _finite(raw, "the target column")
        return Arrays(x, raw.astype(np.float32), "real")
    return Arrays(x, raw.astype(np.int64), "integer")


def _declared(archive: zipfile.ZipFile, name: str) -> tuple[tuple[int, ...], np.dtype]:
    """An NPZ member's shape and dtype from its header, before anything is decompressed."""
    with archive.open(f"{name}.npy") as member:
        version = np.lib.format.read_magic(member)
        reader = {
            (1, 0): np.lib.format.read_array_header_1_0,
            (2, 0): np.lib.format.read_array_header_2_0,
        }.get(version)
        if reader is None:
            raise FileProblem(
                f"array {name!r} uses .npy format {version}; save it with numpy.savez"
            )
        shape, _, dtype = reader(member)
    return shape, dtype


def _check_npz(path: Path) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            arrays = sorted(n.removesuffix(".npy") for n in archive.namelist())
            if not {"x", "y"} <= set(arrays):
                raise FileProblem(f"the NPZ holds the arrays {arrays}; it needs x and y")
            values = 0
            for name in ("x", "y"):
                shape, dtype = _declared(archive, name)
                if dtype.hasobject:
                    raise FileProblem(
                        f"array {name!r} holds Python objects (dtype object), which are never "
                        "loaded; save numbers (or text labels in y)"
                    )
                values += int(np.prod(shape))
            if values > MAX_VALUES:
                raise FileProblem(f"x and y hold {values:,} values; the limit is {MAX_VALUES:,}")
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        if isinstance(exc, FileProblem):
            raise
        raise FileProblem(f"not a readable NPZ file: {exc}") from exc


def _read_npz(path: Path) -> Arrays:
    _check_npz(path)
    try:
        with np.load(path, allow_pickle=False) as archive:
            x, y = archive["x"], archive["y"]
    except (ValueError, OSError, zipfile.BadZipFile) as exc:
        raise FileProblem(f"not a readable NPZ file: {exc}") from exc
    if x.ndim == 1:
        x = x.reshape(-1, 1)
    if x.ndim == 0 or y.ndim == 0 or x.ndim > 9 or y.ndim > 9:
        raise FileProblem(
            f"x {x.shape} and y {y.shape} need a sample axis first (and 8 more at most)"
        )
    if 0 in x.shape[1:] or 0 in y.shape[1:]:
        raise FileProblem(f"x {x.shape} and y {y.shape} need at least one value per sample")
    if len(x) != len(y) or len(x) == 0:
        raise FileProblem(f"x has {len(x)} rows and y {len(y)}; they need the same number, above 0")
    if x.dtype.kind not in NUMERIC_KINDS:
        raise FileProblem(f"array 'x' holds {x.dtype}; it must hold numbers")
    with np.errstate(over="ignore"):
        x = x.astype(np.float32)
    _finite(x, "array 'x'")
    if y.dtype.kind in "US":
        flat, label_type, classes = _text_labels([str(v) for v in y.reshape(-1).tolist()])
        return Arrays(x, flat.reshape(y.shape), label_type, classes)
    if y.dtype.kind in "biu":
        if y.dtype.kind == "u" and y.size and int(y.max()) > np.iinfo(np.int64).max:
            raise FileProblem("array 'y' holds integers too large for int64")
        return Arrays(x, y.astype(np.int64), "integer")
    if y.dtype.kind == "f":
        y = y.astype(np.float32)
        _finite(y, "array 'y'")
        return Arrays(x, y, "real")
    raise FileProblem(f"array 'y' holds {y.dtype}; it must hold numbers or text labels")
