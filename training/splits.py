"""Train, validation and test splits: seeded shuffles, and stratification by class."""

from dataclasses import dataclass

import numpy as np
import torch

from training.build.data_tensors import TensorData, class_labels
from training.spec.preprocessing import SplitSpec

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class Splits:
    """The training split and the held-out ones (None where the spec holds none out)."""

    train: TensorData
    val: TensorData | None = None
    test: TensorData | None = None

    def items(self) -> list[tuple[str, TensorData]]:
        """The splits that exist, as (name, data)."""
        named = zip(SPLITS, (self.train, self.val, self.test), strict=True)
        return [(name, data) for name, data in named if data is not None]


def _allocate(class_counts: np.ndarray, sizes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Samples of each class (rows) in each split (columns), every entry the floor or the ceiling
    of its exact share class_count * split_size / n, rows and columns adding up exactly.

    Starts from the floors, then hands each class's missing samples to the splits still short of
    their size, where the exact share has a fraction: classes missing two first, each to the
    splits missing most (ties in random order).
    """
    exact = class_counts[:, None] * sizes[None, :] / class_counts.sum()
    counts: np.ndarray = np.floor(exact).astype(np.int64)
    open_ = exact - counts > 1e-9
    short = sizes - counts.sum(axis=0)
    missing = class_counts - counts.sum(axis=1)
    for c in sorted(rng.permutation(len(class_counts)), key=lambda c: -missing[c]):
        for _ in range(int(missing[c])):
            choices = [s for s in range(len(sizes)) if short[s] > 0 and open_[c, s]]
            choices = choices or [s for s in range(len(sizes)) if short[s] > 0]
            best = max(choices, key=lambda s: (short[s], rng.random()))
            counts[c, best] += 1
            short[best] -= 1
            open_[c, best] = False
    return counts


def _stratified(
    labels: np.ndarray, sizes: np.ndarray, rng: np.random.Generator
) -> list[list[np.ndarray]]:
    classes, inverse = np.unique(labels, return_inverse=True)
    counts = _allocate(np.bincount(inverse), sizes, rng)
    parts: list[list[np.ndarray]] = [[] for _ in sizes]
    for c in range(len(classes)):
        members = rng.permutation(np.flatnonzero(inverse == c))
        bounds = np.cumsum(counts[c])[:-1]
        for part, chunk in zip(parts, np.split(members, bounds), strict=True):
            part.append(chunk)
    return parts


def _parts(
    n: int, sizes: np.ndarray, labels: np.ndarray | None, spec: SplitSpec
) -> list[np.ndarray]:
    """Ascending indices of n samples cut into parts of the given sizes, from Generator(seed).

    Unstratified, the last part is cut first from the front of one permutation, so the test
    split (always last) is the same whatever the other parts are.
    """
    rng = np.random.default_rng(spec.seed)
    if spec.stratify:
        if labels is None:
            raise ValueError("stratify needs one class label per sample")
        return [np.sort(np.concatenate(part)) for part in _stratified(labels, sizes, rng)]
    order = rng.permutation(n)
    backwards = np.split(order, np.cumsum(sizes[::-1])[:-1])
    return [np.sort(part) for part in backwards[::-1]]


def fold_indices(
    n: int, spec: SplitSpec, labels: np.ndarray | None = None
) -> tuple[list[np.ndarray], np.ndarray]:
    """Ascending sample indices of each of spec.folds folds, and of the test split held out first.

    One draw cuts test and folds together, so every fold of a cross-validation sees the same
    test split; stratified, every class's share in each fold is within one sample of exact.
    """
    if spec.folds is None:
        raise ValueError("fold_indices needs a split with folds")
    sizes = np.array([*spec.fold_sizes(n), spec.sizes(n)[2]], dtype=np.int64)
    if sizes[:-1].min() < 1:
        raise ValueError(f"{spec.folds} folds need at least {spec.folds} samples besides test")
    *folds, test = _parts(n, sizes, labels, spec)
    return folds, test


def _fold_split(
    n: int, spec: SplitSpec, labels: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    folds, test = fold_indices(n, spec, labels)
    fold = spec.fold or 0
    train = np.sort(np.concatenate([part for i, part in enumerate(folds) if i != fold]))
    return train, folds[fold], test


def split_indices(
    n: int, spec: SplitSpec, labels: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ascending sample indices of (train, val, test), drawn with numpy's Generator(spec.seed).

    With folds, val is the spec's fold (fold 0 for a cross-validation parent) and train the
    other folds.
    """
    if spec.folds is not None:
        return _fold_split(n, spec, labels)
    sizes = np.array(spec.sizes(n), dtype=np.int64)
    if sizes[0] < 1:
        raise ValueError(f"val and test take {n - sizes[0]} of {n} samples; none is left to train")
    train, val, test = _parts(n, sizes, labels, spec)
    return train, val, test


def split_data(data: TensorData, spec: SplitSpec | None) -> Splits:
    """data split as spec says; without a spec everything trains and nothing is held out."""
    if spec is None:
        return Splits(data)
    labels = class_labels(data)
    indices = split_indices(len(data), spec, None if labels is None else labels.cpu().numpy())
    train, val, test = (
        data.take(torch.from_numpy(index)) if len(index) else None for index in indices
    )
    assert train is not None
    return Splits(train, val, test)
