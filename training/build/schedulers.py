"""Learning-rate schedulers from scheduler specs, incl. warm-up chains and lr expressions."""

import math
from collections.abc import Callable
from typing import Any

from torch.optim import Optimizer
from torch.optim import lr_scheduler as schedulers
from torch.optim.lr_scheduler import LRScheduler, ReduceLROnPlateau

from training.registry import Registry
from training.safe_expr import parse_expression
from training.spec.schedulers import (
    ChainedSchedulerSpec,
    ConstantLRSpec,
    CosineAnnealingLRSpec,
    CosineAnnealingWarmRestartsSpec,
    CyclicLRSpec,
    ExponentialDecaySpec,
    ExponentialLRSpec,
    InverseTimeDecaySpec,
    LambdaLRSpec,
    LambdaSpec,
    LinearLRSpec,
    MultiplicativeLRSpec,
    MultiStepLRSpec,
    OneCycleLRSpec,
    PiecewiseConstantDecaySpec,
    PolynomialLRSpec,
    ReduceLROnPlateauSpec,
    SchedulerBase,
    SequentialLRSpec,
    Span,
    StepLRSpec,
    inner_spans,
    one_cycle_total,
    run_span,
)
from training.torch_options import torch_keywords

Scheduler = LRScheduler | ReduceLROnPlateau
SchedulerBuilder = Callable[[Any, Optimizer, Span], Scheduler]
# spec fields that are gradq's, not keywords of the torch scheduler
GRADQ_FIELDS = {"type", "interval", "monitor"}


class ScheduleError(ValueError):
    """A schedule cannot run with this optimizer, or its lr expression gave a bad value."""


def _keywords(scheduler_class: Callable[..., Scheduler]) -> SchedulerBuilder:
    def build(spec: SchedulerBase, optimizer: Optimizer, _span: Span) -> Scheduler:
        keywords = torch_keywords(spec, scheduler_class, spec.model_dump(exclude=GRADQ_FIELDS))
        return scheduler_class(optimizer, **keywords)

    return build


def _require_momentum(spec: CyclicLRSpec | OneCycleLRSpec, optimizer: Optimizer) -> None:
    if spec.cycle_momentum and not {"momentum", "betas"} & optimizer.defaults.keys():
        raise ScheduleError(
            f"{spec.type} cycles momentum (cycle_momentum=true), but {type(optimizer).__name__}"
            " has no momentum or betas; set cycle_momentum to false"
        )


def _cyclic(spec: CyclicLRSpec, optimizer: Optimizer, span: Span) -> Scheduler:
    _require_momentum(spec, optimizer)
    return _keywords(schedulers.CyclicLR)(spec, optimizer, span)


def _one_cycle(spec: OneCycleLRSpec, optimizer: Optimizer, span: Span) -> Scheduler:
    _require_momentum(spec, optimizer)
    keywords = torch_keywords(
        spec, schedulers.OneCycleLR, spec.model_dump(exclude=GRADQ_FIELDS | {"total_steps"})
    )
    return schedulers.OneCycleLR(optimizer, total_steps=one_cycle_total(spec, span), **keywords)


def _lr_function(spec: LambdaSpec, span: Span) -> Callable[[int], float]:
    """torch's counter -> the expression's value at that (epoch, step); refuses bad values."""
    expression = parse_expression(spec.lr_lambda)

    def factor(counter: int) -> float:
        epoch, step = span.inputs(counter)
        value = expression(epoch, step)
        if not (math.isfinite(value) and value >= 0):
            raise ScheduleError(
                f"lr_lambda {spec.lr_lambda!r} gave {value} at epoch {epoch}, step {step};"
                " an lr factor must be a finite number >= 0"
            )
        return value

    return factor


def _lambda(spec: LambdaLRSpec, optimizer: Optimizer, span: Span) -> Scheduler:
    return schedulers.LambdaLR(optimizer, _lr_function(spec, span))


def _multiplicative(spec: MultiplicativeLRSpec, optimizer: Optimizer, span: Span) -> Scheduler:
    return schedulers.MultiplicativeLR(optimizer, _lr_function(spec, span))


def _base_lr(optimizer: Optimizer) -> float:
    return float(optimizer.defaults.get("lr", optimizer.param_groups[0]["lr"]))


def _piecewise(spec: PiecewiseConstantDecaySpec, optimizer: Optimizer, _span: Span) -> Scheduler:
    base_lr = _base_lr(optimizer)
    return schedulers.LambdaLR(optimizer, lambda counter: spec.lr(counter) / base_lr)


def _decay(
    spec: ExponentialDecaySpec | InverseTimeDecaySpec, optimizer: Optimizer, _span: Span
) -> Scheduler:
    return schedulers.LambdaLR(optimizer, spec.factor)


def _sequential(spec: SequentialLRSpec, optimizer: Optimizer, span: Span) -> Scheduler:
    inner = [
        _build(inner_spec, optimizer, inner_span)
        for inner_spec, inner_span in zip(spec.schedulers, inner_spans(spec, span), strict=True)
    ]
    return schedulers.SequentialLR(optimizer, inner, list(spec.milestones))


def _chained(spec: ChainedSchedulerSpec, optimizer: Optimizer, span: Span) -> Scheduler:
    inner = [_build(inner_spec, optimizer, span) for inner_spec in spec.schedulers]
    return schedulers.ChainedScheduler(inner, optimizer=optimizer)


SCHEDULERS: Registry[SchedulerBase, SchedulerBuilder] = Registry(
    "scheduler",
    {
        LambdaLRSpec: _lambda,
        MultiplicativeLRSpec: _multiplicative,
        StepLRSpec: _keywords(schedulers.StepLR),
        MultiStepLRSpec: _keywords(schedulers.MultiStepLR),
        ExponentialLRSpec: _keywords(schedulers.ExponentialLR),
        CosineAnnealingLRSpec: _keywords(schedulers.CosineAnnealingLR),
        CosineAnnealingWarmRestartsSpec: _keywords(schedulers.CosineAnnealingWarmRestarts),
        CyclicLRSpec: _cyclic,
        OneCycleLRSpec: _one_cycle,
        LinearLRSpec: _keywords(schedulers.LinearLR),
        ConstantLRSpec: _keywords(schedulers.ConstantLR),
        PolynomialLRSpec: _keywords(schedulers.PolynomialLR),
        ReduceLROnPlateauSpec: _keywords(schedulers.ReduceLROnPlateau),
        SequentialLRSpec: _sequential,
        ChainedSchedulerSpec: _chained,
        PiecewiseConstantDecaySpec: _piecewise,
        ExponentialDecaySpec: _decay,
        InverseTimeDecaySpec: _decay,
    },
)


def _build(spec: SchedulerBase, optimizer: Optimizer, span: Span) -> Scheduler:
    return SCHEDULERS.builder(spec)(spec, optimizer, span)


def build_scheduler(
    spec: SchedulerBase, optimizer: Optimizer, *, epochs: int, steps_per_epoch: int
) -> Scheduler:
    """Args:
    spec: any member of SchedulerSpec.
    optimizer: the built optimizer; CyclicLR and OneCycleLR set its lr (and momentum) themselves.
    epochs, steps_per_epoch: the run's length: OneCycleLR's total_steps, the lr expressions'
        epoch and step.
    """
    span = run_span(spec.interval, epochs=epochs, steps_per_epoch=steps_per_epoch)
    return _build(spec, optimizer, span)
