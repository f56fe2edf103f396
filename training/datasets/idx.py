"""IDX files, the MNIST family's format: headers, arrays, and where the server keeps them."""

import gzip
import io
import struct
from pathlib import Path

import numpy as np

from training.datasets.errors import DataUnavailable, FileProblem

# the type byte of the magic number -> numpy dtype (IDX stores big-endian)
IDX_TYPES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
IDX_CODES = {dtype: code for code, dtype in IDX_TYPES.items()}
GZIP_MAGIC = b"\x1f\x8b"
# (images, labels) file names of each subset, as the MNIST and Fashion-MNIST sites publish them
SUBSET_FILES = {
    True: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    False: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
IMAGE_SIZE = (28, 28)


def set_dir(data_dir: Path, name: str) -> Path:
    """Where the server looks for the files of the set called name."""
    return data_dir / "datasets" / name


Readable = gzip.GzipFile | io.BufferedReader


def _open(path: Path) -> Readable:
    with path.open("rb") as probe:
        gzipped = probe.read(2) == GZIP_MAGIC
    return gzip.open(path, "rb") if gzipped else path.open("rb")


def _header(handle: Readable, path: Path) -> tuple[np.dtype, tuple[int, ...]]:
    magic = handle.read(4)
    if len(magic) != 4 or magic[:2] != b"\0\0" or magic[2] not in IDX_TYPES or magic[3] == 0:
        raise FileProblem(f"{path.name} is not an IDX file (magic number {magic.hex()})")
    dims = handle.read(4 * magic[3])
    if len(dims) != 4 * magic[3]:
        raise FileProblem(f"{path.name} ends inside its header")
    return IDX_TYPES[magic[2]], struct.unpack(f">{magic[3]}I", dims)


def read_header(path: Path) -> tuple[np.dtype, tuple[int, ...]]:
    """The dtype and shape an IDX file declares, reading only its header."""
    with _open(path) as handle:
        return _header(handle, path)


def read_idx(path: Path, limit: int | None = None) -> np.ndarray:
    """The array in an IDX file (gzipped or not), or its first `limit` entries."""
    with _open(path) as handle:
        dtype, shape = _header(handle, path)
        count = shape[0] if limit is None else min(limit, shape[0])
        shape = (count, *shape[1:])
        size = int(np.prod(shape)) * dtype.itemsize
        data = handle.read(size)
    if len(data) != size:
        raise FileProblem(
            f"{path.name} holds {len(data)} bytes of data; its header promises {size}"
        )
    return np.frombuffer(data, dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="))


def write_idx(path: Path, array: np.ndarray) -> None:
    """Write array as an IDX file; gzipped when the name ends in .gz."""
    dtype = np.dtype(array.dtype).newbyteorder(">") if array.dtype.itemsize > 1 else array.dtype
    code = IDX_CODES[dtype]
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = header + np.ascontiguousarray(array, dtype=dtype).tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(payload) if path.suffix == ".gz" else payload)


def _find(directory: Path, stem: str) -> Path | None:
    for name in (stem, f"{stem}.gz"):
        if (directory / name).is_file():
            return directory / name
    return None


def subset_files(data_dir: Path, name: str, train: bool) -> tuple[Path, Path]:
    """The (images, labels) files of a subset; DataUnavailable says where to put missing ones."""
    directory = set_dir(data_dir, name)
    stems = SUBSET_FILES[train]
    found = [_find(directory, stem) for stem in stems]
    if found[0] is None or found[1] is None:
        missing = [stem for stem, path in zip(stems, found, strict=True) if path is None]
        raise DataUnavailable(
            f"{name} needs the IDX files {' and '.join(missing)} (as published, gzipped or "
            f"not) in {directory.resolve()}; put them there"
        )
    return found[0], found[1]


def subset_size(data_dir: Path, name: str, train: bool) -> int:
    """The number of images in a subset's files, checked against its labels file."""
    images, labels = subset_files(data_dir, name, train)
    _, image_shape = read_header(images)
    _, label_shape = read_header(labels)
    if image_shape[1:] != IMAGE_SIZE or len(label_shape) != 1:
        raise FileProblem(
            f"{images.name} holds {image_shape}, {labels.name} {label_shape}; "
            f"expected (N, 28, 28) images and (N,) labels"
        )
    if image_shape[0] != label_shape[0] or image_shape[0] == 0:
        raise FileProblem(
            f"{images.name} holds {image_shape[0]} images, {labels.name} {label_shape[0]} labels"
        )
    return image_shape[0]


def read_subset(
    data_dir: Path, name: str, train: bool, limit: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(images (N, 28, 28) uint8, labels (N,) int64) of a subset, the first `limit` of them."""
    subset_size(data_dir, name, train)
    images_path, labels_path = subset_files(data_dir, name, train)
    images, labels = read_idx(images_path, limit), read_idx(labels_path, limit)
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise FileProblem(f"{labels_path.name} holds labels outside 0-9")
    return images, labels.astype(np.int64)
