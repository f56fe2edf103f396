"""Every schedule through fit() against a hand-written loop with torch's scheduler or Keras'."""

import itertools
import math
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import torch
from pydantic import ValidationError
from sklearn.datasets import make_moons
from torch import nn
from torch.optim import Optimizer
from torch.optim import lr_scheduler as lrs

from tests.helpers import TEST_DEVICE, moons_spec
from training.build.schedulers import ScheduleError, build_scheduler
from training.loop import fit
from training.preview import preview_lr
from training.run import build_run
from training.sinks import ListSink
from training.spec import TrainingSpec
from training.spec.schedulers import LambdaLRSpec

ATOL = 1e-6
SEED = 5
EPOCHS = 6
BATCH = 50
STEPS = 4  # 200 moons at batch 50
LR = 0.01


@pytest.fixture(autouse=True, scope="module")
def _one_thread() -> Iterator[None]:
    # tiny networks train many times faster without intra-op threads on a busy machine
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


class KerasReference:
    """Sets the lr itself from a Keras formula of the step count, as Keras' optimizer does."""

    def __init__(self, optimizer: Optimizer, lr_at: Callable[[int], float]) -> None:
        self.optimizer, self.lr_at, self.count = optimizer, lr_at, 0
        self._apply()

    def _apply(self) -> None:
        for group in self.optimizer.param_groups:
            group["lr"] = self.lr_at(self.count)

    def step(self) -> None:
        self.count += 1
        self._apply()


Reference = Callable[[Optimizer, str], Any]


def _inputs(count: int, interval: str) -> tuple[int, int]:
    """(epoch, step) of an lr expression at torch's counter, written out by hand."""
    return (count, count * STEPS) if interval == "epoch" else (count // STEPS, count)


def _lambda_reference(optimizer: Optimizer, interval: str) -> Any:
    def factor(count: int) -> float:
        epoch, step = _inputs(count, interval)
        return 0.9**epoch if epoch < 3 else 0.5 / (1 + step)

    return lrs.LambdaLR(optimizer, factor)


def _multiplicative_reference(optimizer: Optimizer, interval: str) -> Any:
    return lrs.MultiplicativeLR(optimizer, lambda count: 1 - 0.01 * _inputs(count, interval)[0])


def _one_cycle_reference(**options: Any) -> Reference:
    def reference(optimizer: Optimizer, interval: str) -> Any:
        total = EPOCHS * STEPS if interval == "batch" else EPOCHS
        return lrs.OneCycleLR(optimizer, max_lr=0.05, total_steps=total, **options)

    return reference


def _piecewise(count: int) -> float:
    return 0.02 if count <= 2 else 0.01 if count <= 5 else 0.005


CASES: list[tuple[dict[str, Any], Reference]] = [
    (
        {"type": "LambdaLR", "lr_lambda": "0.9 ** epoch if epoch < 3 else 0.5 / (1 + step)"},
        _lambda_reference,
    ),
    ({"type": "MultiplicativeLR", "lr_lambda": "1 - 0.01 * epoch"}, _multiplicative_reference),
    ({"type": "StepLR", "step_size": 3, "gamma": 0.5}, lambda o, _: lrs.StepLR(o, 3, gamma=0.5)),
    (
        {"type": "MultiStepLR", "milestones": [2, 5], "gamma": 0.5},
        lambda o, _: lrs.MultiStepLR(o, [2, 5], gamma=0.5),
    ),
    ({"type": "ExponentialLR", "gamma": 0.9}, lambda o, _: lrs.ExponentialLR(o, 0.9)),
    (
        {"type": "CosineAnnealingLR", "T_max": 4, "eta_min": 0.001},
        lambda o, _: lrs.CosineAnnealingLR(o, T_max=4, eta_min=0.001),
    ),
    (
        {"type": "CosineAnnealingWarmRestarts", "T_0": 2, "T_mult": 2, "eta_min": 0.001},
        lambda o, _: lrs.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=2, eta_min=0.001),
    ),
    (
        {"type": "CyclicLR", "base_lr": 0.001, "max_lr": 0.02, "step_size_up": 3},
        lambda o, _: lrs.CyclicLR(o, base_lr=0.001, max_lr=0.02, step_size_up=3),
    ),
    (
        {
            "type": "CyclicLR",
            "base_lr": 0.001,
            "max_lr": 0.02,
            "step_size_up": 1,
            "step_size_down": 2,
            "mode": "triangular2",
            "cycle_momentum": False,
        },
        lambda o, _: lrs.CyclicLR(
            o,
            0.001,
            0.02,
            step_size_up=1,
            step_size_down=2,
            mode="triangular2",
            cycle_momentum=False,
        ),
    ),
    ({"type": "OneCycleLR", "max_lr": 0.05}, _one_cycle_reference()),
    (
        {"type": "OneCycleLR", "max_lr": 0.05, "three_phase": True, "pct_start": 0.25},
        _one_cycle_reference(three_phase=True, pct_start=0.25),
    ),
    (
        {"type": "OneCycleLR", "max_lr": 0.05, "total_steps": 30, "anneal_strategy": "linear"},
        lambda o, _: lrs.OneCycleLR(o, max_lr=0.05, total_steps=30, anneal_strategy="linear"),
    ),
    (
        {"type": "LinearLR", "start_factor": 0.25, "total_iters": 3},
        lambda o, _: lrs.LinearLR(o, start_factor=0.25, total_iters=3),
    ),
    (
        {"type": "ConstantLR", "factor": 0.5, "total_iters": 2},
        lambda o, _: lrs.ConstantLR(o, factor=0.5, total_iters=2),
    ),
    (
        {"type": "PolynomialLR", "total_iters": 4, "power": 2.0},
        lambda o, _: lrs.PolynomialLR(o, total_iters=4, power=2.0),
    ),
    (
        {
            "type": "SequentialLR",
            "schedulers": [
                {"type": "LinearLR", "start_factor": 0.1, "total_iters": 2},
                {"type": "ExponentialLR", "gamma": 0.8},
            ],
            "milestones": [2],
        },
        lambda o, _: lrs.SequentialLR(
            o, [lrs.LinearLR(o, start_factor=0.1, total_iters=2), lrs.ExponentialLR(o, 0.8)], [2]
        ),
    ),
    (
        {
            "type": "ChainedScheduler",
            "schedulers": [
                {"type": "ConstantLR", "factor": 0.5, "total_iters": 3},
                {"type": "ExponentialLR", "gamma": 0.9},
            ],
        },
        lambda o, _: lrs.ChainedScheduler(
            [lrs.ConstantLR(o, factor=0.5, total_iters=3), lrs.ExponentialLR(o, 0.9)], optimizer=o
        ),
    ),
    (
        {"type": "PiecewiseConstantDecay", "boundaries": [2, 5], "values": [0.02, 0.01, 0.005]},
        lambda o, _: KerasReference(o, _piecewise),
    ),
    (
        {"type": "ExponentialDecay", "decay_steps": 3, "decay_rate": 0.5},
        lambda o, _: KerasReference(o, lambda step: LR * 0.5 ** (step / 3)),
    ),
    (
        {"type": "ExponentialDecay", "decay_steps": 3, "decay_rate": 0.5, "staircase": True},
        lambda o, _: KerasReference(o, lambda step: LR * 0.5 ** (step // 3)),
    ),
    (
        {"type": "InverseTimeDecay", "decay_steps": 2, "decay_rate": 0.5},
        lambda o, _: KerasReference(o, lambda step: LR / (1 + 0.5 * step / 2)),
    ),
    (
        {"type": "InverseTimeDecay", "decay_steps": 2, "decay_rate": 0.5, "staircase": True},
        lambda o, _: KerasReference(o, lambda step: LR / (1 + 0.5 * (step // 2))),
    ),
]
CASE_IDS = [f"{spec['type']}-{index}" for index, (spec, _) in enumerate(CASES)]


def _spec(scheduler: dict[str, Any], interval: str) -> dict[str, Any]:
    spec = moons_spec(epochs=EPOCHS, batch_size=BATCH, seed=SEED)
    spec["scheduler"] = {**scheduler, "interval": interval}
    return spec


def _run(spec: dict[str, Any]) -> ListSink:
    sink = ListSink()
    fit(build_run(TrainingSpec.model_validate(spec), TEST_DEVICE), sink)
    return sink


def _moons() -> tuple[torch.Tensor, torch.Tensor]:
    x, y = make_moons(n_samples=200, noise=0.2, random_state=0)
    x_t, y_t = torch.tensor(x, dtype=torch.float32), torch.tensor(y, dtype=torch.int64)
    return x_t.to(TEST_DEVICE), y_t.to(TEST_DEVICE)


def _hand_written(reference: Reference, interval: str) -> list[tuple[float, float]]:
    """The loop of the articles, shuffled mini-batches from a generator seeded like gradq's."""
    x, y = _moons()
    torch.manual_seed(SEED)
    net = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 2)).to(TEST_DEVICE)
    optimizer = torch.optim.Adam(net.parameters(), lr=LR)
    scheduler = reference(optimizer, interval)
    generator = torch.Generator().manual_seed(SEED)
    per_epoch = []
    for _ in range(EPOCHS):
        # drawn on the CPU, then moved, as gradq's loop does
        order = torch.randperm(200, generator=generator).to(TEST_DEVICE)
        total = 0.0
        for start in range(0, 200, BATCH):
            index = order[start : start + BATCH]
            optimizer.zero_grad()
            loss = nn.functional.cross_entropy(net(x[index]), y[index])
            loss.backward()
            optimizer.step()
            if interval == "batch":
                scheduler.step()
            total += loss.item() * len(index)
        if interval == "epoch":
            scheduler.step()
        per_epoch.append((total / 200, optimizer.param_groups[0]["lr"]))
    return per_epoch


@pytest.mark.parametrize("interval", ["epoch", "batch"])
@pytest.mark.parametrize(("scheduler", "reference"), CASES, ids=CASE_IDS)
def test_schedule_equals_hand_written_loop_and_preview(
    scheduler: dict[str, Any], reference: Reference, interval: str
) -> None:
    spec = TrainingSpec.model_validate(_spec(scheduler, interval))
    sink = ListSink()
    fit(build_run(spec, TEST_DEVICE), sink)
    expected = _hand_written(reference, interval)
    got = [e["lr/0"] for e in sink.epochs]

    assert [e["train_loss"] for e in sink.epochs] == pytest.approx(
        [t for t, _ in expected], abs=ATOL
    )
    assert got == pytest.approx([lr for _, lr in expected], rel=1e-12)
    assert spec.scheduler is not None
    preview = preview_lr(spec.optimizer, spec.scheduler, epochs=EPOCHS, steps_per_epoch=STEPS)
    curve = [preview.initial_lr, *(preview.lr_per_step or got)]
    assert len({round(lr, 12) for lr in curve}) > 1, "the schedule must change the lr"
    assert preview.lr_per_epoch == got
    if interval == "batch":
        assert preview.lr_per_step is not None
        assert len(preview.lr_per_step) == EPOCHS * STEPS
        assert preview.lr_per_step[STEPS - 1 :: STEPS] == got
    else:
        assert preview.lr_per_step is None


def test_step_lr_of_the_article_ends_at_0_99_to_the_20th() -> None:
    spec = moons_spec()
    spec["scheduler"] = {"type": "StepLR", "step_size": 50, "gamma": 0.99}
    lrs_by_epoch = [e["lr/0"] for e in _run(spec).epochs]

    assert lrs_by_epoch[-1] == pytest.approx(0.01 * 0.99**20, rel=1e-12)
    assert lrs_by_epoch[-1] == pytest.approx(0.008179, abs=5e-7)
    assert lrs_by_epoch[48] == pytest.approx(0.01, rel=1e-12)
    assert lrs_by_epoch[49] == pytest.approx(0.0099, rel=1e-12)
    validated = TrainingSpec.model_validate(spec)
    assert validated.scheduler is not None
    preview = preview_lr(validated.optimizer, validated.scheduler, epochs=1000, steps_per_epoch=1)
    assert preview.lr_per_epoch == lrs_by_epoch


def test_multi_step_lr_of_the_article_steps_at_each_milestone() -> None:
    spec = moons_spec()
    spec["scheduler"] = {"type": "MultiStepLR", "milestones": [200, 700, 900], "gamma": 0.99}
    lr_after = {int(e["epoch"]): e["lr/0"] for e in _run(spec).epochs}

    # the lr after epoch n is the one epoch n + 1 trains with
    for epoch, lr in [
        (1, 0.01),
        (199, 0.01),
        (200, 0.0099),
        (699, 0.0099),
        (700, 0.009801),
        (899, 0.009801),
        (900, 0.00970299),
        (1000, 0.00970299),
    ]:
        assert lr_after[epoch] == pytest.approx(lr, rel=1e-12), epoch


def _plateau_hand_written(epochs: int, lr: float, **options: Any) -> list[tuple[float, float]]:
    x, y = _moons()
    torch.manual_seed(SEED)
    net = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 2)).to(TEST_DEVICE)
    optimizer = torch.optim.SGD(net.parameters(), lr=lr)
    scheduler = lrs.ReduceLROnPlateau(optimizer, **options)
    expected = []
    for _ in range(epochs):
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(net(x), y)
        loss.backward()
        optimizer.step()
        scheduler.step(loss.item())
        expected.append((loss.item(), optimizer.param_groups[0]["lr"]))
    return expected


@pytest.mark.parametrize("monitor", [None, "train_loss"])
def test_reduce_lr_on_plateau_reduces_when_train_loss_stalls(monitor: str | None) -> None:
    spec = moons_spec(epochs=12, seed=SEED)
    spec["optimizer"] = {"type": "SGD", "lr": 1e-5}
    spec["scheduler"] = {
        "type": "ReduceLROnPlateau",
        "factor": 0.5,
        "patience": 2,
        "threshold": 1e-3,
        "monitor": monitor,
    }
    sink = _run(spec)
    expected = _plateau_hand_written(12, 1e-5, factor=0.5, patience=2, threshold=1e-3)
    got = [e["lr/0"] for e in sink.epochs]

    assert [e["train_loss"] for e in sink.epochs] == pytest.approx(
        [t for t, _ in expected], abs=ATOL
    )
    assert got == pytest.approx([lr for _, lr in expected], rel=1e-12)
    assert got[0] == 1e-5
    assert got[-1] < 1e-5 / 2
    reductions = [event for event in sink.events if event["kind"] == "lr_reduced_on_plateau"]
    lr_path = [1e-5, *got]
    assert len(reductions) == sum(a != b for a, b in itertools.pairwise(lr_path))
    assert reductions[0]["monitor"] == "train_loss"


def test_sequential_lr_warms_up_then_decays() -> None:
    spec = moons_spec(epochs=10, batch_size=BATCH, seed=SEED)
    spec["scheduler"] = {
        "type": "SequentialLR",
        "interval": "batch",
        "schedulers": [
            {"type": "LambdaLR", "lr_lambda": "(step + 1) / 8"},
            {"type": "CosineAnnealingLR", "T_max": 32},
        ],
        "milestones": [8],
    }
    validated = TrainingSpec.model_validate(spec)
    assert validated.scheduler is not None
    preview = preview_lr(validated.optimizer, validated.scheduler, epochs=10, steps_per_epoch=4)
    per_step = [preview.initial_lr, *(preview.lr_per_step or [])]

    assert per_step[:8] == pytest.approx([LR * (step + 1) / 8 for step in range(8)], rel=1e-12)
    cosine = [LR * (1 + math.cos(math.pi * step / 32)) / 2 for step in range(33)]
    assert per_step[8:41] == pytest.approx(cosine, rel=1e-9, abs=1e-15)
    assert [e["lr/0"] for e in _run(spec).epochs] == preview.lr_per_epoch


def test_one_cycle_lr_spans_the_whole_run_by_default() -> None:
    spec = _spec({"type": "OneCycleLR", "max_lr": 0.05}, "batch")
    validated = TrainingSpec.model_validate(spec)
    assert validated.scheduler is not None
    preview = preview_lr(validated.optimizer, validated.scheduler, epochs=EPOCHS, steps_per_epoch=4)

    assert preview.initial_lr == pytest.approx(0.05 / 25, rel=1e-12)
    assert max(preview.lr_per_step or []) == pytest.approx(0.05, rel=1e-2)
    assert preview.lr_per_step is not None
    assert preview.lr_per_step[-2] == pytest.approx(0.05 / 25 / 1e4, rel=1e-6)


def test_piecewise_values_are_absolute_and_groups_keep_their_ratio() -> None:
    spec = moons_spec(epochs=4, seed=SEED)
    spec["model"]["layers"][2]["name"] = "head"
    spec["optimizer"] = {
        "type": "SGD",
        "lr": 0.1,
        "param_groups": [{"layers": ["head"], "lr": 0.3}],
    }
    spec["scheduler"] = {"type": "PiecewiseConstantDecay", "boundaries": [2], "values": [1.0, 0.5]}
    epochs = _run(spec).epochs

    assert [e["lr/0"] for e in epochs] == pytest.approx([1.0, 1.0, 0.5, 0.5], rel=1e-12)
    assert [e["lr/1"] for e in epochs] == pytest.approx([3.0, 3.0, 1.5, 1.5], rel=1e-12)
    validated = TrainingSpec.model_validate(spec)
    assert validated.scheduler is not None
    preview = preview_lr(validated.optimizer, validated.scheduler, epochs=4, steps_per_epoch=1)
    assert preview.lr_per_epoch == [e["lr/0"] for e in epochs]


def test_cycle_momentum_without_momentum_is_a_clear_error() -> None:
    network = nn.Sequential(nn.Linear(1, 1))
    optimizer = torch.optim.Adagrad(network.parameters(), lr=0.1)
    spec = TrainingSpec.model_validate(
        _spec({"type": "CyclicLR", "base_lr": 0.01, "max_lr": 0.1}, "batch")
    ).scheduler
    assert spec is not None
    with pytest.raises(ScheduleError, match="Adagrad has no momentum or betas"):
        build_scheduler(spec, optimizer, epochs=2, steps_per_epoch=2)


def test_lr_lambda_that_divides_by_zero_is_refused_at_submission() -> None:
    with pytest.raises(ValidationError) as caught:
        TrainingSpec.model_validate(_spec({"type": "LambdaLR", "lr_lambda": "1 / epoch"}, "epoch"))
    [error] = caught.value.errors()
    assert error["loc"] == ("scheduler",)
    assert "factor of inf at epoch 0" in error["msg"]


def test_lr_lambda_that_divides_by_zero_fails_when_built() -> None:
    spec = LambdaLRSpec(lr_lambda="1 / epoch")
    optimizer = torch.optim.SGD(nn.Linear(1, 1).parameters(), lr=0.1)
    with pytest.raises(ScheduleError, match="gave inf at epoch 0"):
        build_scheduler(spec, optimizer, epochs=2, steps_per_epoch=1)


def test_preview_refuses_too_many_points() -> None:
    spec = TrainingSpec.model_validate(_spec({"type": "StepLR", "step_size": 2}, "batch"))
    assert spec.scheduler is not None
    with pytest.raises(ValueError, match="at most 1,000,000 points"):
        preview_lr(spec.optimizer, spec.scheduler, epochs=1001, steps_per_epoch=1000)


def test_preview_of_reduce_lr_on_plateau_is_flat_and_says_why() -> None:
    spec = TrainingSpec.model_validate(_spec({"type": "ReduceLROnPlateau"}, "epoch"))
    assert spec.scheduler is not None
    preview = preview_lr(spec.optimizer, spec.scheduler, epochs=5, steps_per_epoch=4)
    assert preview.lr_per_epoch == [LR] * 5
    assert preview.note is not None
    assert "metric" in preview.note


def _errors(scheduler: dict[str, Any]) -> list[Any]:
    spec = moons_spec()
    spec["scheduler"] = scheduler
    with pytest.raises(ValidationError) as caught:
        TrainingSpec.model_validate(spec)
    return list(caught.value.errors())


@pytest.mark.parametrize(
    ("scheduler", "loc", "words"),
    [
        (
            {"type": "MultiStepLR", "milestones": [200, 200, 900]},
            ("scheduler", "MultiStepLR", "milestones"),
            "strictly increasing",
        ),
        (
            {"type": "LambdaLR", "lr_lambda": "0.95 ** x"},
            ("scheduler", "LambdaLR", "lr_lambda"),
            "the name 'x' is not allowed",
        ),
        (
            {"type": "MultiplicativeLR", "lr_lambda": "__import__('os')"},
            ("scheduler", "MultiplicativeLR", "lr_lambda"),
            "calling '__import__' is not allowed",
        ),
        (
            {"type": "LambdaLR", "lr_lambda": "epoch.__class__"},
            ("scheduler", "LambdaLR", "lr_lambda"),
            "attribute access",
        ),
        (
            {"type": "CosineAnnealingLR", "T_max": -5},
            ("scheduler", "CosineAnnealingLR", "T_max"),
            "greater than 0",
        ),
        (
            {"type": "SequentialLR", "schedulers": [{"type": "ConstantLR"}], "milestones": [3]},
            ("scheduler", "SequentialLR", "milestones"),
            "1 schedulers need 0 milestones",
        ),
        (
            {
                "type": "SequentialLR",
                "schedulers": [{"type": "LambdaLR", "lr_lambda": "epoch["}],
                "milestones": [],
            },
            ("scheduler", "SequentialLR", "schedulers", 0, "LambdaLR", "lr_lambda"),
            "invalid syntax",
        ),
        (
            {"type": "ReduceLROnPlateau", "interval": "batch"},
            ("scheduler", "ReduceLROnPlateau", "interval"),
            "'epoch'",
        ),
        (
            {"type": "OneCycleLR", "max_lr": 0.1, "pct_start": 0.6, "three_phase": True},
            ("scheduler", "OneCycleLR", "pct_start"),
            "at most 0.5",
        ),
        (
            {"type": "PiecewiseConstantDecay", "boundaries": [5], "values": [0.1]},
            ("scheduler", "PiecewiseConstantDecay", "values"),
            "1 boundaries need 2 values",
        ),
        (
            {
                "type": "ChainedScheduler",
                "schedulers": [{"type": "ExponentialLR", "gamma": 0.9, "interval": "batch"}],
            },
            ("scheduler", "ChainedScheduler", "schedulers", 0, "interval"),
            "set interval on the outer schedule only",
        ),
    ],
)
def test_bad_schedules_are_refused_at_their_field(
    scheduler: dict[str, Any], loc: tuple[Any, ...], words: str
) -> None:
    [error] = _errors(scheduler)
    assert error["loc"] == loc
    assert words in error["msg"]


def test_unknown_schedule_names_the_allowed_types() -> None:
    [error] = _errors({"type": "WarmupLR"})
    assert error["loc"] == ("scheduler",)
    assert error["type"] == "union_tag_invalid"
    assert "'OneCycleLR'" in error["msg"]
    assert "'PiecewiseConstantDecay'" in error["msg"]


def test_nested_schedules_may_not_nest_again() -> None:
    inner = {"type": "ChainedScheduler", "schedulers": [{"type": "ConstantLR"}]}
    [error] = _errors({"type": "ChainedScheduler", "schedulers": [inner]})
    assert error["loc"] == ("scheduler", "ChainedScheduler", "schedulers", 0)
    assert error["type"] == "union_tag_invalid"


def test_reduce_lr_on_plateau_may_not_nest() -> None:
    [error] = _errors({"type": "ChainedScheduler", "schedulers": [{"type": "ReduceLROnPlateau"}]})
    assert error["type"] == "union_tag_invalid"
