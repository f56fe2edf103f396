"""Summaries of timing samples: medians, percentiles, ratios."""

from collections.abc import Sequence

import numpy as np


def percentile(samples: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100), interpolated linearly between samples."""
    return float(np.percentile(np.asarray(samples, dtype=np.float64), q)) if samples else 0.0


def median(samples: Sequence[float]) -> float:
    return percentile(samples, 50)


def summary(samples: Sequence[float]) -> dict[str, float]:
    """Count, median, p95, p99, min and max of samples."""
    return {
        "n": len(samples),
        "median": median(samples),
        "p95": percentile(samples, 95),
        "p99": percentile(samples, 99),
        "min": min(samples, default=0.0),
        "max": max(samples, default=0.0),
    }


def ratio(numerator: float, denominator: float) -> float | None:
    """numerator / denominator, or None when there is nothing to divide by."""
    return numerator / denominator if denominator > 0 else None
