"""The lr expression evaluator and check_schedule, the submission-time check of a schedule."""

import math
import time
from typing import Any

import numpy as np
import pytest
from pydantic import BaseModel, TypeAdapter

from training.build.schedulers import ScheduleError
from training.preview import preview_lr
from training.safe_expr import ExpressionError, parse_expression
from training.spec.optimizers import OptimizerSpec
from training.spec.schedulers import SchedulerBase, SchedulerSpec, check_schedule

SCHEDULERS: TypeAdapter[Any] = TypeAdapter(SchedulerSpec)
OPTIMIZERS: TypeAdapter[Any] = TypeAdapter(OptimizerSpec)
POINTS = [(0, 0), (1, 7), (4, 30), (9, 100)]


def _scheduler(data: dict[str, Any]) -> SchedulerBase:
    spec = SCHEDULERS.validate_python(data)
    assert isinstance(spec, SchedulerBase)
    return spec


def _optimizer(data: dict[str, Any]) -> BaseModel:
    spec = OPTIMIZERS.validate_python(data)
    assert isinstance(spec, BaseModel)
    return spec


EXPRESSIONS: list[tuple[str, Any]] = [
    ("0.95 ** epoch", lambda e, _s: 0.95**e),
    ("exp(-0.1 * epoch) * sqrt(step + 1)", lambda e, s: math.exp(-0.1 * e) * math.sqrt(s + 1)),
    ("max(0.1, 1 - epoch / 10, 0)", lambda e, _s: max(0.1, 1 - e / 10, 0)),
    ("epoch // 3 % 2 + step % 7", lambda e, s: e // 3 % 2 + s % 7),
    ("1 if epoch < 5 else 0.5 ** (epoch - 5)", lambda e, _s: 1 if e < 5 else 0.5 ** (e - 5)),
    (
        "min(step, 50) / 50 * cos(pi * epoch / 20) + e - log(e)",
        lambda e, s: min(s, 50) / 50 * math.cos(math.pi * e / 20) + math.e - math.log(math.e),
    ),
    (
        "floor(step / 7) + ceil(epoch / 2) + abs(-epoch) + sin(step)",
        lambda e, s: math.floor(s / 7) + math.ceil(e / 2) + abs(-e) + math.sin(s),
    ),
    ("-epoch + +step - 2 * -1", lambda e, s: -e + +s - 2 * -1),
    ("(1 < epoch <= 4) * 0.5 + (step != 7)", lambda e, s: (1 < e <= 4) * 0.5 + (s != 7)),
    ("epoch >= 4 if step > 0 else 3", lambda e, s: (e >= 4) if s > 0 else 3),
]


@pytest.mark.parametrize(("source", "python"), EXPRESSIONS, ids=[s for s, _ in EXPRESSIONS])
def test_expressions_evaluate_as_python_would(source: str, python: Any) -> None:
    expression = parse_expression(source)
    for epoch, step in POINTS:
        assert expression(epoch, step) == pytest.approx(float(python(epoch, step)), rel=1e-12)
    epochs = np.array([epoch for epoch, _ in POINTS], dtype=np.float64)
    steps = np.array([step for _, step in POINTS], dtype=np.float64)
    assert list(expression.values(epochs, steps)) == pytest.approx(
        [float(python(epoch, step)) for epoch, step in POINTS], rel=1e-12
    )


@pytest.mark.parametrize(
    ("source", "words"),
    [
        ("__import__('os')", "calling '__import__' is not allowed"),
        ("__import__('os').system('true')", "attribute access (.system)"),
        ("epoch.real", "attribute access (.real)"),
        ("open('/etc/passwd')", "calling 'open' is not allowed"),
        ("os", "the name 'os' is not allowed"),
        ("0.95 ** lr", "the name 'lr' is not allowed"),
        ("epoch[0]", "subscripts"),
        ("(lambda: 1)()", "calling 'lambda' is not allowed"),
        ("lambda: 1", "lambda"),
        ("[x for x in (1, 2)]", "comprehensions"),
        ("sum(x for x in (1, 2))", "calling 'sum' is not allowed"),
        ("'0.95' * 2", "strings are not allowed"),
        ("f'{epoch}'", "strings"),
        ("True", "only numbers"),
        ("1j", "only numbers"),
        ("epoch and step", "and/or"),
        ("not epoch", "Not is not allowed"),
        ("epoch << 2", "LShift is not allowed"),
        ("epoch in (1, 2)", "In is not allowed"),
        ("(x := 2)", "assignments"),
        ("exp", "exp is a function"),
        ("exp(1, 2)", "exactly one argument"),
        ("max(1)", "at least two arguments"),
        ("min(epoch, key=abs)", "no keyword arguments"),
        ("epoch +", "invalid syntax"),
        ("epoch; step", "invalid syntax"),
        ("", "invalid syntax"),
        ("1 +" * 200 + "1", "longer than 500 characters"),
        ("-" * 100 + "epoch", "nests deeper than"),
    ],
)
def test_disallowed_input_is_refused_with_what_is_not_allowed(source: str, words: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        parse_expression(source)
    assert words in str(caught.value)


@pytest.mark.parametrize(
    "source", ["9 ** 9 ** 9 ** 9", "10 ** 10 ** 10 ** 10", "2 ** (step * 1e9)"]
)
def test_huge_powers_are_inf_at_once_instead_of_hanging(source: str) -> None:
    started = time.perf_counter()
    value = parse_expression(source)(3, 3)
    assert time.perf_counter() - started < 1.0
    assert value == math.inf


@pytest.mark.parametrize(
    ("source", "value"),
    [("1 / epoch", math.inf), ("log(epoch)", -math.inf), ("sqrt(epoch - 1)", math.nan)],
)
def test_domain_errors_give_ieee_values_not_exceptions(source: str, value: float) -> None:
    got = parse_expression(source)(0, 0)
    assert got == value or (math.isnan(value) and math.isnan(got))


def test_parsed_once_it_evaluates_a_million_points_quickly() -> None:
    expression = parse_expression("0.5 * (1 + cos(pi * min(step, 1e6) / 1e6)) if epoch > 2 else 1")
    counter = np.arange(1_000_000, dtype=np.float64)
    started = time.perf_counter()
    values = expression.values(counter // 100, counter)
    assert time.perf_counter() - started < 2.0
    assert values[0] == 1.0
    assert values[500_000] == pytest.approx(0.5, rel=1e-9)


def _check(scheduler: dict[str, Any], epochs: int, steps: int = 1, **kwargs: Any) -> str | None:
    return check_schedule(_scheduler(scheduler), epochs=epochs, steps_per_epoch=steps, **kwargs)


def test_division_by_zero_at_epoch_0_is_reported() -> None:
    problem = _check({"type": "LambdaLR", "lr_lambda": "1 / epoch"}, epochs=10)
    assert problem is not None
    assert "lr_lambda '1 / epoch' gives an lr factor of inf at epoch 0, step 0" in problem


def test_only_the_epochs_the_job_runs_are_checked() -> None:
    spec = {"type": "LambdaLR", "lr_lambda": "1 / (3 - epoch)"}
    # torch evaluates the counters 0..epochs: 3 is the lr after the third epoch
    assert _check(spec, epochs=2) is None
    problem = _check(spec, epochs=3)
    assert problem is not None
    assert "inf at epoch 3" in problem


def test_negative_factor_is_reported() -> None:
    problem = _check({"type": "LambdaLR", "lr_lambda": "1 - epoch / 4"}, epochs=10)
    assert problem is not None
    assert "-0.25 at epoch 5" in problem


def test_per_batch_schedules_are_checked_at_every_step() -> None:
    spec = {"type": "LambdaLR", "lr_lambda": "1 / (10 - step)", "interval": "batch"}
    assert _check(spec, epochs=2, steps=4) is None
    problem = _check(spec, epochs=3, steps=4)
    assert problem is not None
    assert "at epoch 2, step 10" in problem


def test_multiplicative_overflow_is_reported() -> None:
    spec = {"type": "MultiplicativeLR", "lr_lambda": "1.01"}
    assert _check(spec, epochs=1000) is None
    problem = _check(spec, epochs=100_000)
    assert problem is not None
    assert "inf at epoch 71333" in problem


def test_check_of_1e5_epochs_per_batch_is_fast() -> None:
    spec = {
        "type": "LambdaLR",
        "lr_lambda": "0.5 * (1 + cos(pi * step / 1e6))",
        "interval": "batch",
    }
    started = time.perf_counter()
    assert _check(spec, epochs=100_000, steps=10) is None
    assert time.perf_counter() - started < 5.0


def test_nested_problems_name_their_place() -> None:
    spec = {
        "type": "SequentialLR",
        "schedulers": [
            {"type": "LinearLR"},
            {"type": "LambdaLR", "lr_lambda": "1 / (2 - epoch)"},
        ],
        "milestones": [5],
    }
    problem = _check(spec, epochs=8)
    assert problem is not None
    assert problem.startswith("schedulers[1].lr_lambda")
    assert "at epoch 2" in problem
    # the second schedule's epochs count from its milestone: 5 + 2 is the first bad epoch
    assert _check(spec, epochs=6) is None


SGD = {"type": "SGD", "lr": 0.1, "momentum": 0.9}


@pytest.mark.parametrize(
    ("scheduler", "epochs"),
    [
        ({"type": "LambdaLR", "lr_lambda": "1 / (3 - epoch)"}, 3),
        ({"type": "LambdaLR", "lr_lambda": "1 / (3 - epoch)"}, 2),
        ({"type": "MultiplicativeLR", "lr_lambda": "1 / epoch"}, 4),
        (
            {
                "type": "SequentialLR",
                "schedulers": [
                    {"type": "ConstantLR"},
                    {"type": "MultiplicativeLR", "lr_lambda": "1 / epoch"},
                ],
                "milestones": [2],
            },
            4,
        ),
        (
            {
                "type": "SequentialLR",
                "schedulers": [
                    {"type": "MultiplicativeLR", "lr_lambda": "0.9"},
                    {"type": "LambdaLR", "lr_lambda": "1 / (epoch - 2)"},
                ],
                "milestones": [9],
            },
            4,
        ),
        ({"type": "OneCycleLR", "max_lr": 0.1, "total_steps": 10, "interval": "epoch"}, 10),
        ({"type": "OneCycleLR", "max_lr": 0.1, "total_steps": 9, "interval": "epoch"}, 10),
        ({"type": "OneCycleLR", "max_lr": 0.1, "pct_start": 0.1, "interval": "epoch"}, 10),
        ({"type": "ExponentialDecay", "decay_steps": 1, "decay_rate": 2.0}, 1023),
        ({"type": "ExponentialDecay", "decay_steps": 1, "decay_rate": 2.0}, 1024),
    ],
)
def test_check_agrees_with_running_the_schedule(scheduler: dict[str, Any], epochs: int) -> None:
    spec = _scheduler(scheduler)
    problem = check_schedule(spec, epochs=epochs, steps_per_epoch=1)
    assert (problem is None) == _runs(spec, epochs), problem


def _runs(spec: SchedulerBase, epochs: int) -> bool:
    try:
        preview_lr(_optimizer(SGD), spec, epochs=epochs, steps_per_epoch=1)
    except (ScheduleError, ValueError, ZeroDivisionError, OverflowError):
        return False
    return True


@pytest.mark.parametrize(
    ("optimizer", "fine"),
    [
        ({"type": "Adagrad"}, False),
        ({"type": "Rprop"}, False),
        ({"type": "SGD"}, True),
        ({"type": "Adam"}, True),
        ({"type": "RMSprop"}, True),
        ({"type": "Lookahead", "optimizer": {"type": "Adam"}}, True),
        ({"type": "Lookahead", "optimizer": {"type": "Adadelta"}}, False),
    ],
)
def test_cycle_momentum_needs_momentum_or_betas(optimizer: dict[str, Any], fine: bool) -> None:
    cyclic = {"type": "CyclicLR", "base_lr": 0.01, "max_lr": 0.1}
    nested = {"type": "ChainedScheduler", "schedulers": [cyclic]}
    optimizer_spec = _optimizer(optimizer)
    for scheduler in (cyclic, nested):
        problem = _check(scheduler, epochs=3, steps=2, optimizer=optimizer_spec)
        assert (problem is None) == fine
    off = {**cyclic, "cycle_momentum": False}
    assert _check(off, epochs=3, steps=2, optimizer=optimizer_spec) is None
