"""PNG plots: metric series over epochs, and a 2-D classifier's decision boundary (matplotlib)."""

import io
from collections.abc import Mapping, Sequence

import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from torch import nn

from training.predict import NetworkCard, labels, probabilities

SIZE_INCHES = (8.0, 4.5)
DPI = 100
MARGIN = 0.1
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2"]
# a grid point costs one network row: resolution**2 rows at most
MAX_RESOLUTION = 500

Series = tuple[Sequence[int], Sequence[float | None]]


def _png(figure: Figure) -> bytes:
    # Figure + the Agg canvas, never pyplot: no global state, safe in the API's threads
    FigureCanvasAgg(figure)
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=DPI, bbox_inches="tight")
    return out.getvalue()


def series_png(series: Mapping[str, Series], *, title: str, log_y: bool = False) -> bytes:
    """One line per series against the epoch; NaN values leave gaps."""
    figure = Figure(figsize=SIZE_INCHES)
    axes = figure.add_subplot()
    for name, (epochs, values) in series.items():
        points = [float("nan") if v is None or (log_y and v <= 0) else v for v in values]
        axes.plot(list(epochs), points, label=name, linewidth=1.2)
    axes.set_xlabel("epoch")
    axes.set_title(title)
    if log_y:
        axes.set_yscale("log")
    axes.grid(True, alpha=0.3)
    if series:
        axes.legend()
    return _png(figure)


@torch.inference_mode()
def _grid_labels(
    network: nn.Module, card: NetworkCard, xs: torch.Tensor, ys: torch.Tensor
) -> torch.Tensor:
    grid = torch.stack([xs.flatten(), ys.flatten()], dim=1)
    probs = probabilities(card, network(grid))
    if probs is None:
        raise ValueError("the network's outputs are no class probabilities")
    found = labels(card, probs)
    return found.reshape(len(found), -1)[:, 0].reshape(xs.shape)


def decision_boundary_png(
    network: nn.Module,
    card: NetworkCard,
    points: torch.Tensor,
    point_labels: torch.Tensor,
    *,
    resolution: int,
    title: str,
) -> bytes:
    """The class the network predicts over the plane around the points, with the points on it."""
    low, high = points.min(dim=0).values, points.max(dim=0).values
    pad = (high - low).clamp_min(1e-6) * MARGIN
    axis = [
        torch.linspace(float(low[i] - pad[i]), float(high[i] + pad[i]), resolution) for i in (0, 1)
    ]
    xs, ys = torch.meshgrid(axis[0], axis[1], indexing="xy")
    predicted = _grid_labels(network, card, xs, ys)
    classes = max(int(predicted.max()), int(point_labels.max()), 1) + 1
    colours = ListedColormap([PALETTE[i % len(PALETTE)] for i in range(classes)])
    figure = Figure(figsize=(6.0, 5.0))
    axes = figure.add_subplot()
    levels = [c - 0.5 for c in range(classes + 1)]
    axes.contourf(xs, ys, predicted, levels=levels, cmap=colours, alpha=0.3)
    axes.scatter(
        points[:, 0],
        points[:, 1],
        c=point_labels,
        cmap=colours,
        vmin=-0.5,
        vmax=classes - 0.5,
        s=12,
        edgecolors="k",
        linewidths=0.3,
    )
    axes.set_title(title)
    axes.set_xlabel("x0")
    axes.set_ylabel("x1")
    return _png(figure)


def point_labels(kind_targets: torch.Tensor, card: NetworkCard) -> torch.Tensor | None:
    """A class per sample from its targets; None for targets a plane cannot colour."""
    kind = card.target_kind
    if kind == "class_index":
        return kind_targets.reshape(-1).to(torch.int64)
    if kind in {"probabilities", "log_probabilities"}:
        return kind_targets.argmax(dim=1)
    if kind == "binary":
        return (kind_targets.reshape(-1) > 0.5).to(torch.int64)
    return None


def plane_classifier(card: NetworkCard) -> bool:
    """Whether a decision boundary can be drawn: two float features, one class per sample."""
    one_label = card.target_kind != "multi_label"
    return (
        card.input_shape == (2,)
        and card.input_dtype == "float32"
        and one_label
        and (card.probabilities is not None)
    )
