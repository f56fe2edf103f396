"""Line plots of a series: in the terminal as text, or as a PNG with matplotlib."""

import math
from collections.abc import Sequence
from pathlib import Path

MARK = "•"


def _logged(values: Sequence[float], log: bool) -> bool:
    return log and all(value > 0 for value in values)


def text_plot(
    values: Sequence[float],
    *,
    width: int = 64,
    height: int = 12,
    log: bool = False,
    x_label: str = "epoch",
) -> str:
    """The series as text: each column covers a bucket of points, from its min to its max.

    Drawing the bucket's whole range keeps spikes and cycles visible however many points fall
    into one column.
    """
    if not values:
        return "(no points)"
    logged = _logged(values, log)
    scaled = [math.log10(value) for value in values] if logged else list(values)
    low, high = min(scaled), max(scaled)
    span = high - low
    if span == 0:  # a flat line: draw it across the middle, the value on the middle label
        span = abs(high) or 1.0
        low, high = low - span / 2, high + span / 2
    columns = min(width, len(scaled))
    grid = [[" "] * columns for _ in range(height)]
    for column in range(columns):
        bucket = scaled[column * len(scaled) // columns : (column + 1) * len(scaled) // columns]
        top = round((max(bucket) - low) / span * (height - 1))
        bottom = round((min(bucket) - low) / span * (height - 1))
        for row in range(bottom, top + 1):
            grid[height - 1 - row][column] = MARK

    def label(row: int) -> str:
        if row not in {0, (height - 1) // 2, height - 1}:
            return " " * 10
        value = high - row / max(height - 1, 1) * span
        return f"{10**value if logged else value:>10.4g}"

    lines = [f"{label(row)} ┤{''.join(cells)}" for row, cells in enumerate(grid)]
    axis = f"{'':>10} └{'─' * columns}"
    last = f"{len(values)} {x_label}s"
    ends = f"{'':>11}1{last:>{max(columns - 1, len(last) + 1)}}"
    return "\n".join([*lines, axis, ends])


def png_plot(
    values: Sequence[float], path: Path, *, log: bool = False, title: str = "lr", x_label: str
) -> None:
    """The series as a PNG file (needs matplotlib)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib import pyplot
    except ImportError as exc:
        raise ValueError("--png needs matplotlib: pip install matplotlib") from exc
    figure, axes = pyplot.subplots(figsize=(8, 4.5))
    axes.plot(range(1, len(values) + 1), values)
    axes.set_xlabel(x_label)
    axes.set_ylabel(title)
    if log:
        axes.set_yscale("log")
    axes.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    pyplot.close(figure)
