"""Learning-rate schedule specs; each steps per epoch or per batch as `interval` says.

Fields are named and defaulted as in torch.optim.lr_scheduler; the Keras-style decays are
named as in keras.optimizers.schedules and count `interval` steps where Keras counts batches.
"""

import bisect
import itertools
import math
from dataclasses import dataclass
from typing import Annotated, Literal, Self, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from training.safe_expr import Array, ExpressionError, first_invalid, parse_expression
from training.spec.base import SpecModel, field_error

Interval = Literal["epoch", "batch"]
PositiveInt = Annotated[int, Field(gt=0)]
NonNegative = Annotated[float, Field(ge=0.0)]
Factor = Annotated[float, Field(ge=0.0, le=1.0)]


def _parses(source: str) -> str:
    try:
        parse_expression(source)
    except ExpressionError as exc:
        raise ValueError(str(exc)) from None
    return source


LrExpression = Annotated[
    str,
    AfterValidator(_parses),
    Field(description="an expression of epoch and step, e.g. '0.95 ** epoch'"),
]


def _strictly_increasing(values: list[int], name: str) -> list[int]:
    if any(later <= earlier for earlier, later in itertools.pairwise(values)):
        raise ValueError(f"{name} must be strictly increasing, got {values}")
    return values


class SchedulerBase(SpecModel):
    interval: Interval = Field(
        default="epoch", description="step the schedule after every epoch or every batch"
    )


class LambdaLRSpec(SchedulerBase):
    """Multiplies the initial lr by lr_lambda, an expression of epoch and step.

    epoch and step count from the schedule's start: torch's counter for the interval, and the
    other one derived from it with the run's steps per epoch.
    """

    type: Literal["LambdaLR"] = "LambdaLR"
    lr_lambda: LrExpression


class MultiplicativeLRSpec(SchedulerBase):
    """Multiplies the lr by lr_lambda, an expression of epoch and step, at every step."""

    type: Literal["MultiplicativeLR"] = "MultiplicativeLR"
    lr_lambda: LrExpression


class StepLRSpec(SchedulerBase):
    type: Literal["StepLR"] = "StepLR"
    step_size: int = Field(gt=0)
    gamma: float = Field(default=0.1, gt=0.0)


class MultiStepLRSpec(SchedulerBase):
    type: Literal["MultiStepLR"] = "MultiStepLR"
    milestones: list[PositiveInt] = Field(min_length=1)
    gamma: float = Field(default=0.1, gt=0.0)

    @field_validator("milestones")
    @classmethod
    def _increasing(cls, milestones: list[int]) -> list[int]:
        return _strictly_increasing(milestones, "milestones")


class ExponentialLRSpec(SchedulerBase):
    type: Literal["ExponentialLR"] = "ExponentialLR"
    gamma: float = Field(gt=0.0)


class CosineAnnealingLRSpec(SchedulerBase):
    type: Literal["CosineAnnealingLR"] = "CosineAnnealingLR"
    T_max: int = Field(gt=0)
    eta_min: NonNegative = 0.0


class CosineAnnealingWarmRestartsSpec(SchedulerBase):
    type: Literal["CosineAnnealingWarmRestarts"] = "CosineAnnealingWarmRestarts"
    T_0: int = Field(gt=0)
    T_mult: int = Field(default=1, ge=1)
    eta_min: NonNegative = 0.0


class CyclicLRSpec(SchedulerBase):
    """Cycles the lr between base_lr and max_lr, and momentum (or beta1) the other way.

    It sets the lr itself, from base_lr. As in torch, cycle_momentum also overwrites the
    optimizer's momentum or beta1, and an optimizer that has neither is refused.
    """

    type: Literal["CyclicLR"] = "CyclicLR"
    interval: Interval = "batch"
    base_lr: NonNegative
    max_lr: float = Field(gt=0.0)
    step_size_up: int = Field(default=2000, gt=0)
    step_size_down: int | None = Field(default=None, gt=0)
    mode: Literal["triangular", "triangular2", "exp_range"] = "triangular"
    gamma: float = Field(default=1.0, gt=0.0)
    scale_mode: Literal["cycle", "iterations"] = "cycle"
    cycle_momentum: bool = True
    base_momentum: NonNegative = 0.8
    max_momentum: NonNegative = 0.9


class OneCycleLRSpec(SchedulerBase):
    """The 1cycle policy: the lr rises from max_lr / div_factor to max_lr, then anneals.

    total_steps defaults to the steps the schedule takes: epochs x steps per epoch for interval
    "batch", epochs for "epoch", the segment's length inside SequentialLR.
    """

    type: Literal["OneCycleLR"] = "OneCycleLR"
    interval: Interval = "batch"
    max_lr: float = Field(gt=0.0)
    total_steps: PositiveInt | None = None
    pct_start: float = Field(default=0.3, ge=0.0, lt=1.0)
    anneal_strategy: Literal["cos", "linear"] = "cos"
    cycle_momentum: bool = True
    base_momentum: NonNegative = 0.85
    max_momentum: NonNegative = 0.95
    div_factor: float = Field(default=25.0, gt=0.0)
    final_div_factor: float = Field(default=1e4, gt=0.0)
    three_phase: bool = False

    @model_validator(mode="after")
    def _phases_fit(self) -> Self:
        # the rise and the fall of three phases take pct_start each; beyond 0.5 they overlap
        if self.three_phase and self.pct_start > 0.5:
            message = "with three_phase, pct_start can be at most 0.5"
            raise field_error(("pct_start",), message, self.pct_start)
        return self


class LinearLRSpec(SchedulerBase):
    type: Literal["LinearLR"] = "LinearLR"
    start_factor: float = Field(default=1.0 / 3, gt=0.0, le=1.0)
    end_factor: Factor = 1.0
    total_iters: PositiveInt = 5


class ConstantLRSpec(SchedulerBase):
    type: Literal["ConstantLR"] = "ConstantLR"
    factor: Factor = 1.0 / 3
    total_iters: int = Field(default=5, ge=0)


class PolynomialLRSpec(SchedulerBase):
    type: Literal["PolynomialLR"] = "PolynomialLR"
    total_iters: PositiveInt = 5
    power: NonNegative = 1.0


class ReduceLROnPlateauSpec(SchedulerBase):
    """Lowers the lr by factor once the monitored metric stops improving for patience epochs.

    It steps once per epoch; monitor null watches val_loss, or train_loss without a validation
    split.
    """

    type: Literal["ReduceLROnPlateau"] = "ReduceLROnPlateau"
    interval: Literal["epoch"] = "epoch"
    mode: Literal["min", "max"] = "min"
    factor: float = Field(default=0.1, gt=0.0, lt=1.0)
    patience: int = Field(default=10, ge=0)
    threshold: NonNegative = 1e-4
    threshold_mode: Literal["rel", "abs"] = "rel"
    cooldown: int = Field(default=0, ge=0)
    min_lr: NonNegative = 0.0
    eps: NonNegative = 1e-8
    monitor: str | None = Field(
        default=None,
        pattern=r"^(train|val)_[a-z0-9_]+$",
        description="the metric to watch, e.g. val_accuracy with mode max",
    )


class PiecewiseConstantDecaySpec(SchedulerBase):
    """Keras' piecewise constant decay: values[i] for boundaries[i-1] < step <= boundaries[i].

    The values are absolute learning rates that replace the optimizer's `lr`; parameter groups
    with an lr of their own keep their ratio to it.
    """

    type: Literal["PiecewiseConstantDecay"] = "PiecewiseConstantDecay"
    interval: Interval = "batch"
    boundaries: list[Annotated[int, Field(ge=0)]] = Field(min_length=1)
    values: list[NonNegative]

    @field_validator("boundaries")
    @classmethod
    def _increasing(cls, boundaries: list[int]) -> list[int]:
        return _strictly_increasing(boundaries, "boundaries")

    @model_validator(mode="after")
    def _one_value_more(self) -> Self:
        if len(self.values) != len(self.boundaries) + 1:
            message = f"{len(self.boundaries)} boundaries need {len(self.boundaries) + 1} values"
            raise field_error(("values",), message, self.values)
        return self

    def lr(self, step: int) -> float:
        return self.values[bisect.bisect_left(self.boundaries, step)]


class ExponentialDecaySpec(SchedulerBase):
    """Keras' exponential decay: lr = the optimizer's lr * decay_rate ** (step / decay_steps).

    With staircase, step / decay_steps is floored.
    """

    type: Literal["ExponentialDecay"] = "ExponentialDecay"
    interval: Interval = "batch"
    decay_steps: PositiveInt
    decay_rate: float = Field(gt=0.0)
    staircase: bool = False

    def factor(self, step: int) -> float:
        exponent = step / self.decay_steps
        return float(self.decay_rate ** (math.floor(exponent) if self.staircase else exponent))


class InverseTimeDecaySpec(SchedulerBase):
    """Keras' 1/t decay: lr = the optimizer's lr / (1 + decay_rate * step / decay_steps).

    With staircase, step / decay_steps is floored.
    """

    type: Literal["InverseTimeDecay"] = "InverseTimeDecay"
    interval: Interval = "batch"
    decay_steps: PositiveInt
    decay_rate: NonNegative
    staircase: bool = False

    def factor(self, step: int) -> float:
        exponent = step / self.decay_steps
        return 1.0 / (
            1.0 + self.decay_rate * (math.floor(exponent) if self.staircase else exponent)
        )


LambdaSpec = LambdaLRSpec | MultiplicativeLRSpec
InnerSchedulerSpec = Annotated[
    LambdaLRSpec
    | MultiplicativeLRSpec
    | StepLRSpec
    | MultiStepLRSpec
    | ExponentialLRSpec
    | CosineAnnealingLRSpec
    | CosineAnnealingWarmRestartsSpec
    | CyclicLRSpec
    | OneCycleLRSpec
    | LinearLRSpec
    | ConstantLRSpec
    | PolynomialLRSpec
    | PiecewiseConstantDecaySpec
    | ExponentialDecaySpec
    | InverseTimeDecaySpec,
    Field(discriminator="type"),
]


class NestedBase(SchedulerBase):
    """The outer interval governs the inner schedules; an inner one set differently is refused."""

    schedulers: list[InnerSchedulerSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _one_interval(self) -> Self:
        for index, inner in enumerate(self.schedulers):
            if "interval" in inner.model_fields_set and inner.interval != self.interval:
                message = (
                    f"the outer schedule steps per {self.interval} and its schedulers with it;"
                    " set interval on the outer schedule only"
                )
                raise field_error(("schedulers", index, "interval"), message, inner.interval)
        return self


class SequentialLRSpec(NestedBase):
    """Runs schedulers one after another, switching at the milestones: warm-up, then decay.

    schedulers[i] takes over at milestones[i-1]; its epoch and step count from there.
    """

    type: Literal["SequentialLR"] = "SequentialLR"
    milestones: list[PositiveInt]

    @field_validator("milestones")
    @classmethod
    def _one_per_switch(cls, milestones: list[int], info: ValidationInfo) -> list[int]:
        schedulers = info.data.get("schedulers")
        if schedulers is not None and len(milestones) != len(schedulers) - 1:
            raise ValueError(
                f"{len(schedulers)} schedulers need {len(schedulers) - 1} milestones,"
                f" got {len(milestones)}"
            )
        return _strictly_increasing(milestones, "milestones")


class ChainedSchedulerSpec(NestedBase):
    """Steps every one of schedulers at each step, each on the lr the one before it left."""

    type: Literal["ChainedScheduler"] = "ChainedScheduler"


SchedulerSpec = Annotated[
    LambdaLRSpec
    | MultiplicativeLRSpec
    | StepLRSpec
    | MultiStepLRSpec
    | ExponentialLRSpec
    | CosineAnnealingLRSpec
    | CosineAnnealingWarmRestartsSpec
    | CyclicLRSpec
    | OneCycleLRSpec
    | LinearLRSpec
    | ConstantLRSpec
    | PolynomialLRSpec
    | ReduceLROnPlateauSpec
    | SequentialLRSpec
    | ChainedSchedulerSpec
    | PiecewiseConstantDecaySpec
    | ExponentialDecaySpec
    | InverseTimeDecaySpec,
    Field(discriminator="type"),
]


MAX_CHECKED_STEPS = 100_000_000
CounterT = TypeVar("CounterT", int, Array)


@dataclass(frozen=True)
class Span:
    """What one schedule sees of a run.

    `length` training steps (epochs for interval "epoch") are its own; torch passes it the
    counters 0..`last` (its last_epoch). A schedule that SequentialLR switches to is entered
    through step(0), so `restarted` schedules apply a MultiplicativeLR factor at counter 0 too.
    """

    length: int
    last: int
    interval: Interval
    steps_per_epoch: int
    restarted: bool = False

    def inputs(self, counter: CounterT) -> tuple[CounterT, CounterT]:
        """(epoch, step) of the lr expressions at these counters, from the schedule's start."""
        if self.interval == "epoch":
            return counter, counter * self.steps_per_epoch
        return counter // self.steps_per_epoch, counter


def run_span(interval: Interval, *, epochs: int, steps_per_epoch: int) -> Span:
    """The whole run, as a top-level schedule sees it."""
    total = epochs * steps_per_epoch if interval == "batch" else epochs
    return Span(total, total, interval, steps_per_epoch)


def inner_spans(spec: "SequentialLRSpec | ChainedSchedulerSpec", span: Span) -> list[Span]:
    if isinstance(spec, ChainedSchedulerSpec):
        return [span] * len(spec.schedulers)
    starts = [0, *spec.milestones]
    ends = [*spec.milestones, span.last + 1]
    return [
        Span(
            length=max(min(end, span.length) - start, 0),
            last=min(end - 1, span.last) - start,
            interval=span.interval,
            steps_per_epoch=span.steps_per_epoch,
            restarted=index > 0,
        )
        for index, (start, end) in enumerate(zip(starts, ends, strict=True))
    ]


def one_cycle_total(spec: OneCycleLRSpec, span: Span) -> int:
    return spec.total_steps or max(span.length, 1)


def check_schedule(
    spec: SchedulerBase,
    *,
    epochs: int,
    steps_per_epoch: int,
    optimizer: BaseModel | None = None,
) -> str | None:
    """Why the schedule would fail in this run, or None: the first lr_lambda value that is not
    a finite number >= 0, a OneCycleLR too short for the run, or (given the optimizer spec)
    momentum cycling on an optimizer without momentum or betas.
    """
    span = run_span(spec.interval, epochs=epochs, steps_per_epoch=steps_per_epoch)
    problem = _problem(spec, span, "")
    if problem is None and optimizer is not None and not _has_momentum(optimizer):
        problem = _momentum_problem(spec, "")
    return problem


def _problem(spec: SchedulerBase, span: Span, where: str) -> str | None:
    if isinstance(spec, LambdaLRSpec | MultiplicativeLRSpec):
        return _lambda_problem(spec, span, where)
    if isinstance(spec, OneCycleLRSpec):
        return _one_cycle_problem(spec, span, where)
    if isinstance(spec, ExponentialDecaySpec):
        return _decay_problem(spec, span, where)
    if isinstance(spec, SequentialLRSpec | ChainedSchedulerSpec):
        for index, (inner, inner_span) in enumerate(
            zip(spec.schedulers, inner_spans(spec, span), strict=True)
        ):
            problem = _problem(inner, inner_span, f"{where}schedulers[{index}].")
            if problem:
                return problem
    return None


def _lambda_problem(spec: LambdaSpec, span: Span, where: str) -> str | None:
    cumulative = isinstance(spec, MultiplicativeLRSpec)
    # LambdaLR evaluates counter 0 when it is built, even in a segment that never runs
    first = 1 if cumulative and not span.restarted else 0
    counters = range(first, max(span.last, 0) + 1)
    if len(counters) > MAX_CHECKED_STEPS:
        return f"{where}lr_lambda: {len(counters)} steps are too many to check"
    expression = parse_expression(spec.lr_lambda)
    found = first_invalid(expression, counters, span.inputs, cumulative=cumulative)
    if found is None:
        return None
    counter, value = found
    return (
        f"{where}lr_lambda {spec.lr_lambda!r} gives an lr factor of {value} at"
        f" {_at(counter, span)}; it must be a finite number >= 0"
    )


def _at(counter: int, span: Span) -> str:
    epoch, step = span.inputs(counter)
    return f"epoch {epoch}, step {step}"


def _one_cycle_problem(spec: OneCycleLRSpec, span: Span, where: str) -> str | None:
    total = one_cycle_total(spec, span)
    if total < span.last:
        return f"{where}total_steps is {total}, but the schedule steps {span.last} times"
    # torch divides by the length of the first phase, which is 0 when pct_start * total == 1
    if float(spec.pct_start * total) - 1 == 0:
        return f"{where}pct_start * total_steps must not be 1 (torch divides by zero)"
    return None


def _decay_problem(spec: ExponentialDecaySpec, span: Span, where: str) -> str | None:
    try:
        spec.factor(max(span.last, 0))
    except OverflowError:
        return f"{where}decay_rate {spec.decay_rate} makes the lr overflow within {span.last} steps"
    return None


def _has_momentum(optimizer: BaseModel) -> bool:
    fields = type(optimizer).model_fields
    inner = getattr(optimizer, "optimizer", None)
    if "momentum" in fields or "betas" in fields:
        return True
    return isinstance(inner, BaseModel) and _has_momentum(inner)


def _momentum_problem(spec: SchedulerBase, where: str) -> str | None:
    if isinstance(spec, CyclicLRSpec | OneCycleLRSpec) and spec.cycle_momentum:
        return (
            f"{where}cycle_momentum needs an optimizer with momentum or betas;"
            " set cycle_momentum to false"
        )
    if isinstance(spec, SequentialLRSpec | ChainedSchedulerSpec):
        for index, inner in enumerate(spec.schedulers):
            problem = _momentum_problem(inner, f"{where}schedulers[{index}].")
            if problem:
                return problem
    return None
