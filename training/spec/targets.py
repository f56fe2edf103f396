"""Kinds of training target a data set provides and a loss consumes."""

from enum import StrEnum


class TargetKind(StrEnum):
    """What one sample's target holds; the dtype is float32 unless said otherwise.

    class_index: an int64 class number (per pixel for (N, C, H, W) outputs).
    probabilities: C probabilities that sum to 1, one-hot or soft labels.
    log_probabilities: the logarithms of such probabilities (KLDivLoss with log_target).
    multi_label: C independent labels, each 0 or 1.
    multi_label_indices: int64 class numbers of the labels that are on, padded with -1.
    binary: one 0/1 label in a single column.
    sign: +1/-1 labels (similar/dissimilar, ranked first/second, positive/negative).
    regression: real values.
    count: non-negative counts, regression-like (Poisson rates).
    """

    CLASS_INDEX = "class_index"
    PROBABILITIES = "probabilities"
    LOG_PROBABILITIES = "log_probabilities"
    MULTI_LABEL = "multi_label"
    MULTI_LABEL_INDICES = "multi_label_indices"
    BINARY = "binary"
    SIGN = "sign"
    REGRESSION = "regression"
    COUNT = "count"


# the articles' task table: which problem each target kind stands for
TASKS: dict[TargetKind, str] = {
    TargetKind.CLASS_INDEX: "multi-class, single-label classification",
    TargetKind.PROBABILITIES: "multi-class classification with one-hot or soft labels",
    TargetKind.LOG_PROBABILITIES: "matching a distribution given as log-probabilities",
    TargetKind.MULTI_LABEL: "multi-class, multi-label classification",
    TargetKind.MULTI_LABEL_INDICES: "multi-class, multi-label classification (label indices)",
    TargetKind.BINARY: "binary, single-label classification",
    TargetKind.SIGN: "binary (multi-)label classification with +1/-1 labels, pairs and rankings",
    TargetKind.REGRESSION: "regression",
    TargetKind.COUNT: "regression on counts",
}

INTEGER_KINDS = frozenset({TargetKind.CLASS_INDEX, TargetKind.MULTI_LABEL_INDICES})

# the metrics training.evaluation.target_metrics records per target kind, after "train_"/"val_"
TARGET_METRICS: dict[TargetKind, tuple[str, ...]] = {
    TargetKind.CLASS_INDEX: ("accuracy",),
    TargetKind.PROBABILITIES: ("accuracy",),
    TargetKind.LOG_PROBABILITIES: ("accuracy",),
    TargetKind.MULTI_LABEL: ("accuracy",),
    TargetKind.BINARY: ("accuracy",),
    TargetKind.REGRESSION: ("r2", "mae"),
    TargetKind.MULTI_LABEL_INDICES: (),
    TargetKind.SIGN: (),
    TargetKind.COUNT: (),
}
