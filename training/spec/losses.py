"""Loss specs; each declares the target kinds it can train on and the last layer it expects."""

import math
import typing
from dataclasses import dataclass
from typing import Annotated, ClassVar, Literal

from pydantic import Field

from training.spec.base import SpecModel
from training.spec.data import DatasetBase
from training.spec.targets import TASKS, TargetKind

Reduction = Literal["mean", "sum", "none"]
Weights = Annotated[list[Annotated[float, Field(ge=0.0)]], Field(min_length=1, max_length=100_000)]

REAL = frozenset({TargetKind.REGRESSION, TargetKind.COUNT})
LABELS_01 = frozenset({TargetKind.BINARY, TargetKind.MULTI_LABEL})
SIGNS = frozenset({TargetKind.SIGN})


@dataclass(frozen=True)
class NeedsLastLayer:
    """The loss reads `gives`, made by a `layer` last layer; `instead` takes raw scores."""

    layer: str
    gives: str
    instead: str | None = None


@dataclass(frozen=True)
class AppliesItself:
    """The loss applies `squashing` itself, so any of `layers` at the end applies it twice."""

    squashing: str
    layers: frozenset[str]
    instead: str | None = None


class LossBase(SpecModel):
    target_kinds: ClassVar[frozenset[TargetKind]]
    needs_last_layer: ClassVar[NeedsLastLayer | None] = None
    applies_itself: ClassVar[AppliesItself | None] = None

    def accepted_target_kinds(self) -> frozenset[TargetKind]:
        """The target kinds this loss, with its parameters, trains on."""
        return self.target_kinds


class ReducedLossBase(LossBase):
    reduction: Reduction = "mean"


class L1LossSpec(ReducedLossBase):
    target_kinds = REAL
    type: Literal["L1Loss"] = "L1Loss"


class MSELossSpec(ReducedLossBase):
    target_kinds = REAL
    type: Literal["MSELoss"] = "MSELoss"


class SmoothL1LossSpec(ReducedLossBase):
    target_kinds = REAL
    type: Literal["SmoothL1Loss"] = "SmoothL1Loss"
    beta: float = Field(default=1.0, ge=0.0)


class HuberLossSpec(ReducedLossBase):
    target_kinds = REAL
    type: Literal["HuberLoss"] = "HuberLoss"
    delta: float = Field(default=1.0, gt=0.0)


class CrossEntropyLossSpec(ReducedLossBase):
    """nn.CrossEntropyLoss on raw scores; targets are class indices or class probabilities."""

    target_kinds = frozenset({TargetKind.CLASS_INDEX, TargetKind.PROBABILITIES})
    applies_itself = AppliesItself("log-softmax", frozenset({"Softmax", "LogSoftmax"}), "NLLLoss")
    type: Literal["CrossEntropyLoss"] = "CrossEntropyLoss"
    weight: Weights | None = None
    ignore_index: int = -100
    label_smoothing: float = Field(default=0.0, ge=0.0, le=1.0)


class NLLLossSpec(ReducedLossBase):
    """nn.NLLLoss on log-probabilities, (N, C) or (N, C, H, W) as the old NLLLoss2d."""

    target_kinds = frozenset({TargetKind.CLASS_INDEX})
    needs_last_layer = NeedsLastLayer("LogSoftmax", "log-probabilities", "CrossEntropyLoss")
    type: Literal["NLLLoss"] = "NLLLoss"
    weight: Weights | None = None
    ignore_index: int = -100


class KLDivLossSpec(LossBase):
    """nn.KLDivLoss on log-probabilities; targets are probabilities, or log-probabilities."""

    target_kinds = frozenset({TargetKind.PROBABILITIES, TargetKind.LOG_PROBABILITIES})
    needs_last_layer = NeedsLastLayer("LogSoftmax", "log-probabilities")
    type: Literal["KLDivLoss"] = "KLDivLoss"
    # torch's 'batchmean' is the mathematical KL divergence; 'mean' also divides by C
    reduction: Literal["mean", "sum", "none", "batchmean"] = "mean"
    log_target: bool = False

    def accepted_target_kinds(self) -> frozenset[TargetKind]:
        kind = TargetKind.LOG_PROBABILITIES if self.log_target else TargetKind.PROBABILITIES
        return frozenset({kind})


class BCELossSpec(ReducedLossBase):
    """nn.BCELoss on probabilities; weight rescales each target column."""

    target_kinds = LABELS_01
    needs_last_layer = NeedsLastLayer("Sigmoid", "probabilities", "BCEWithLogitsLoss")
    type: Literal["BCELoss"] = "BCELoss"
    weight: Weights | None = None


class BCEWithLogitsLossSpec(ReducedLossBase):
    """nn.BCEWithLogitsLoss on raw scores; weight and pos_weight have one value per column."""

    target_kinds = LABELS_01
    applies_itself = AppliesItself("sigmoid", frozenset({"Sigmoid"}), "BCELoss")
    type: Literal["BCEWithLogitsLoss"] = "BCEWithLogitsLoss"
    weight: Weights | None = None
    pos_weight: Weights | None = None


class MarginRankingLossSpec(ReducedLossBase):
    """nn.MarginRankingLoss; the network outputs 2 columns, x1 = out[:, 0] and x2 = out[:, 1]."""

    target_kinds = SIGNS
    type: Literal["MarginRankingLoss"] = "MarginRankingLoss"
    margin: float = Field(default=0.0, ge=0.0)


class MultiLabelMarginLossSpec(ReducedLossBase):
    target_kinds = frozenset({TargetKind.MULTI_LABEL_INDICES})
    type: Literal["MultiLabelMarginLoss"] = "MultiLabelMarginLoss"


class MultiLabelSoftMarginLossSpec(ReducedLossBase):
    target_kinds = frozenset({TargetKind.MULTI_LABEL})
    applies_itself = AppliesItself("sigmoid", frozenset({"Sigmoid"}))
    type: Literal["MultiLabelSoftMarginLoss"] = "MultiLabelSoftMarginLoss"
    weight: Weights | None = None


class SoftMarginLossSpec(ReducedLossBase):
    target_kinds = SIGNS
    type: Literal["SoftMarginLoss"] = "SoftMarginLoss"


class HingeEmbeddingLossSpec(ReducedLossBase):
    target_kinds = SIGNS
    type: Literal["HingeEmbeddingLoss"] = "HingeEmbeddingLoss"
    margin: float = Field(default=1.0, ge=0.0)


class CosineEmbeddingLossSpec(ReducedLossBase):
    """nn.CosineEmbeddingLoss; the network's 2D output columns are split into x1 and x2 halves."""

    target_kinds = SIGNS
    type: Literal["CosineEmbeddingLoss"] = "CosineEmbeddingLoss"
    margin: float = Field(default=0.0, ge=-1.0, le=1.0)


class PoissonNLLLossSpec(ReducedLossBase):
    target_kinds = frozenset({TargetKind.COUNT})
    type: Literal["PoissonNLLLoss"] = "PoissonNLLLoss"
    log_input: bool = True
    full: bool = False
    eps: float = Field(default=1e-8, gt=0.0)


class GaussianNLLLossSpec(ReducedLossBase):
    """nn.GaussianNLLLoss on an (N, 2k) output: mean = out[:, :k], var = softplus(out[:, k:])."""

    target_kinds = REAL
    type: Literal["GaussianNLLLoss"] = "GaussianNLLLoss"
    full: bool = False
    eps: float = Field(default=1e-6, gt=0.0)


LossSpec = Annotated[
    L1LossSpec
    | MSELossSpec
    | SmoothL1LossSpec
    | HuberLossSpec
    | CrossEntropyLossSpec
    | NLLLossSpec
    | KLDivLossSpec
    | BCELossSpec
    | BCEWithLogitsLossSpec
    | MarginRankingLossSpec
    | MultiLabelMarginLossSpec
    | MultiLabelSoftMarginLossSpec
    | SoftMarginLossSpec
    | HingeEmbeddingLossSpec
    | CosineEmbeddingLossSpec
    | PoissonNLLLossSpec
    | GaussianNLLLossSpec,
    Field(discriminator="type"),
]
LOSS_SPECS: tuple[type[LossBase], ...] = typing.get_args(typing.get_args(LossSpec)[0])


def _name(loss: LossBase | type[LossBase]) -> str:
    spec_class = loss if isinstance(loss, type) else type(loss)
    return spec_class.__name__.removesuffix("Spec")


def losses_for(kind: TargetKind) -> list[str]:
    """The losses that train on kind targets, with the last layer each needs."""
    names = []
    for spec_class in LOSS_SPECS:
        if kind in spec_class.target_kinds:
            needs = spec_class.needs_last_layer
            names.append(_name(spec_class) + (f" (after {needs.layer})" if needs else ""))
    return names


def loss_target_problem(loss: LossBase, kind: TargetKind, dataset_type: str) -> str | None:
    """Why loss cannot train on a data set with kind targets, or None when it can."""
    accepted = loss.accepted_target_kinds()
    if kind in accepted:
        return None
    needed = " or ".join(f"{k.value} targets" for k in TargetKind if k in accepted)
    return (
        f"loss {_name(loss)} needs {needed}, but data set {dataset_type!r} provides "
        f"{kind.value} targets ({TASKS[kind]}); losses that fit {kind.value} targets: "
        + ", ".join(losses_for(kind))
    )


def last_layer_warnings(loss: LossBase, last_layer_type: str | None) -> list[str]:
    """What is off about the model's last layer (its `type`; None for none) for this loss."""
    warnings = []
    ends = f"the model ends with {last_layer_type}" if last_layer_type else "the model has no layer"
    needs, applies = loss.needs_last_layer, loss.applies_itself
    if needs is not None and last_layer_type != needs.layer:
        instead = f", or use {needs.instead} on raw scores" if needs.instead else ""
        warnings.append(
            f"{_name(loss)} expects {needs.gives}: end the model with {needs.layer}{instead}; "
            f"{ends}"
        )
    if applies is not None and last_layer_type in applies.layers:
        instead = f", or use {applies.instead}" if applies.instead else ""
        warnings.append(
            f"{_name(loss)} applies the {applies.squashing} itself, so the {last_layer_type} "
            f"last layer applies it twice: remove it{instead}"
        )
    return warnings


def _length_problem(name: str, values: list[float] | None, sizes: set[int]) -> str | None:
    if values is None or len(values) in sizes:
        return None
    allowed = " or ".join(str(size) for size in sorted(sizes))
    return f"{name} has {len(values)} values; the data set's targets need {allowed}"


def loss_dataset_problem(loss: LossBase, dataset: DatasetBase) -> str | None:
    """What the data set's shapes reveal that the loss cannot train on, or None."""
    target_shape = dataset.target_shape()
    columns = target_shape[-1] if target_shape else 1
    if isinstance(loss, CrossEntropyLossSpec | NLLLossSpec):
        return _length_problem("weight", loss.weight, {dataset.num_classes() or columns})
    if isinstance(loss, MultiLabelSoftMarginLossSpec | BCELossSpec):
        return _length_problem("weight", loss.weight, {1, columns})
    if isinstance(loss, BCEWithLogitsLossSpec):
        problem = _length_problem("weight", loss.weight, {1, columns})
        return problem or _length_problem("pos_weight", loss.pos_weight, {1, columns})
    if (
        isinstance(loss, MarginRankingLossSpec | CosineEmbeddingLossSpec)
        and math.prod(target_shape) != 1
    ):
        return f"{_name(loss)} needs one +1/-1 target per sample; the data set has {target_shape}"
    return None
