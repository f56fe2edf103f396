"""What a job will train on, before it is queued: shapes, target kind, samples per split."""

import math
from pathlib import Path

import torch
from pydantic import BaseModel, Field

from training.build.data import load_dataset
from training.build.data_tensors import class_labels
from training.spec.data import DatasetBase
from training.splits import SPLITS, split_data

# sets holding more values than this are not loaded for their class counts
REPORT_MAX_VALUES = 50_000_000


class SplitReport(BaseModel):
    n_samples: int
    class_counts: dict[str, int] | None = Field(
        description="samples per class number; null for targets without one class per sample, "
        "or for a set too large to load for a report"
    )


class DataReport(BaseModel):
    """The data set a spec names: its shapes, targets, and the samples in each split."""

    type: str
    n_samples: int
    loaded_shape: tuple[int, ...] = Field(description="one sample's features as loaded")
    sample_shape: tuple[int, ...] = Field(description="as the network sees them, preprocessed")
    target_shape: tuple[int, ...]
    target_kind: str
    num_classes: int | None
    splits: dict[str, SplitReport] = Field(
        description="train, and val and test when held out; with folds, train and val are those "
        "of the spec's fold (fold 0 for a cross-validation parent)"
    )
    folds: int | None = Field(default=None, description="cross-validation folds, if any")
    fold_sizes: list[int] | None = Field(
        default=None, description="samples each fold validates on; the test split is shared"
    )


def _counts(labels: torch.Tensor | None) -> dict[str, int] | None:
    if labels is None:
        return None
    counts = torch.bincount(labels.long().cpu())
    return {str(label): int(count) for label, count in enumerate(counts.tolist()) if count}


def data_report(
    spec: DatasetBase, data_dir: Path | None = None, *, max_values: int = REPORT_MAX_VALUES
) -> DataReport:
    """The report of a resolved data set spec; class counts come from loading and splitting it."""
    sizes = spec.split_sizes() or (0, 0, 0)
    values = sum(sizes) * (math.prod(spec.loaded_shape()) + math.prod(spec.target_shape()))
    counts: dict[str, dict[str, int] | None] = dict.fromkeys(SPLITS)
    if values <= max_values:
        splits = split_data(load_dataset(spec, data_dir), spec.split)
        counts |= {name: _counts(class_labels(data)) for name, data in splits.items()}
    held = {name: n for name, n in zip(SPLITS, sizes, strict=True) if n or name == "train"}
    return DataReport(
        type=str(spec.model_dump()["type"]),
        n_samples=sum(sizes),
        loaded_shape=spec.loaded_shape(),
        sample_shape=spec.sample_shape(),
        target_shape=spec.target_shape(),
        target_kind=spec.kind().value,
        num_classes=spec.num_classes(),
        splits={
            name: SplitReport(n_samples=n, class_counts=counts[name]) for name, n in held.items()
        },
        folds=spec.split.folds if spec.split else None,
        fold_sizes=spec.split.fold_sizes(sum(sizes)) or None if spec.split else None,
    )
