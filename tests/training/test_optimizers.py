"""Every optimizer, Lookahead, Ranger and parameter groups against hand-written PyTorch loops."""

import copy
import io
import math
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import torch
from pydantic import TypeAdapter, ValidationError
from sklearn.datasets import make_moons, make_regression
from torch import nn

from tests.helpers import TEST_DEVICE
from training.build.lookahead import Lookahead
from training.build.optimizers import build_optimizer
from training.loop import fit
from training.run import TrainingRun, build_run
from training.sinks import ListSink
from training.spec import TrainingSpec
from training.spec.optimizers import OptimizerSpec

ATOL = 1e-6
OPTIMIZER_SPEC: TypeAdapter[Any] = TypeAdapter(OptimizerSpec)
MakeOptimizer = Callable[[nn.Sequential], torch.optim.Optimizer]
History = list[tuple[float, list[float]]]


def _spec(optimizer: dict[str, Any], epochs: int, batch_size: int | None = None) -> dict[str, Any]:
    return {
        "dataset": {"type": "moons", "n_samples": 200, "noise": 0.2, "random_state": 0},
        "model": {
            "layers": [
                {"type": "Linear", "out_features": 6, "name": "hidden"},
                {"type": "Tanh"},
                {"type": "Linear", "out_features": 2, "name": "head"},
            ]
        },
        "loss": {"type": "CrossEntropyLoss"},
        "optimizer": optimizer,
        "scheduler": {"type": "StepLR", "step_size": 2, "gamma": 0.5},
        "training": {"epochs": epochs, "batch_size": batch_size, "seed": 5},
    }


def _fit(spec: dict[str, Any]) -> tuple[History, TrainingRun]:
    run = build_run(TrainingSpec.model_validate(spec), TEST_DEVICE)
    sink = ListSink()
    fit(run, sink)
    history = [
        (e["train_loss"], [e[f"lr/{i}"] for i in range(len(run.optimizer.param_groups))])
        for e in sink.epochs
    ]
    return history, run


def _network() -> nn.Sequential:
    torch.manual_seed(5)
    layers = [("hidden", nn.Linear(2, 6)), ("1", nn.Tanh()), ("head", nn.Linear(6, 2))]
    return nn.Sequential(OrderedDict(layers))


def _moons(device: torch.device = torch.device("cpu")) -> tuple[torch.Tensor, torch.Tensor]:
    x, y = make_moons(n_samples=200, noise=0.2, random_state=0)
    x_t, y_t = torch.tensor(x, dtype=torch.float32), torch.tensor(y, dtype=torch.int64)
    return x_t.to(device), y_t.to(device)


def _batches(
    x: torch.Tensor, y: torch.Tensor, batch_size: int | None, generator: torch.Generator
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    if batch_size is None:
        yield x, y
        return
    # drawn on the CPU, then moved to the data's device, as gradq's loop does
    order = torch.randperm(len(x), generator=generator).to(x.device)
    for start in range(0, len(x), batch_size):
        index = order[start : start + batch_size]
        yield x[index], y[index]


def _hand_loop(
    make: MakeOptimizer,
    epochs: int,
    batch_size: int | None = None,
    after_step: Callable[[], None] = lambda: None,
) -> tuple[History, nn.Sequential]:
    """Plain zero_grad / forward / backward / step, StepLR(2, 0.5) after each epoch."""
    x, y = _moons(TEST_DEVICE)
    net = _network().to(TEST_DEVICE)
    optimizer = make(net)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
    generator = torch.Generator().manual_seed(5)
    history = []
    for _ in range(epochs):
        total = 0.0
        for xb, yb in _batches(x, y, batch_size, generator):
            optimizer.zero_grad()
            loss = nn.functional.cross_entropy(net(xb), yb)
            loss.backward()
            optimizer.step()
            after_step()
            total += loss.item() * len(xb)
        scheduler.step()
        history.append((total / len(x), [group["lr"] for group in optimizer.param_groups]))
    return history, net


def _assert_same(got: History, expected: History) -> None:
    assert len(got) == len(expected)
    for (loss, lrs), (expected_loss, expected_lrs) in zip(got, expected, strict=True):
        assert loss == pytest.approx(expected_loss, abs=ATOL)
        assert lrs == pytest.approx(expected_lrs, abs=ATOL)


CASES: list[tuple[dict[str, Any], MakeOptimizer]] = [
    (
        {"type": "SGD", "lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01},
        lambda n: torch.optim.SGD(
            n.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01
        ),
    ),
    (
        {"type": "ASGD", "lr": 0.05, "lambd": 0.001, "alpha": 0.7, "t0": 2.0},
        lambda n: torch.optim.ASGD(n.parameters(), lr=0.05, lambd=0.001, alpha=0.7, t0=2.0),
    ),
    (
        {"type": "Rprop", "lr": 0.02, "etas": [0.4, 1.3], "step_sizes": [1e-5, 10.0]},
        lambda n: torch.optim.Rprop(
            n.parameters(), lr=0.02, etas=(0.4, 1.3), step_sizes=(1e-5, 10)
        ),
    ),
    (
        {"type": "Adam", "lr": 0.01, "betas": [0.8, 0.99], "amsgrad": True, "weight_decay": 0.01},
        lambda n: torch.optim.Adam(
            n.parameters(), lr=0.01, betas=(0.8, 0.99), amsgrad=True, weight_decay=0.01
        ),
    ),
    (
        {"type": "AdamW", "lr": 0.01, "weight_decay": 0.1},
        lambda n: torch.optim.AdamW(n.parameters(), lr=0.01, weight_decay=0.1),
    ),
    ({"type": "Adamax", "lr": 0.02}, lambda n: torch.optim.Adamax(n.parameters(), lr=0.02)),
    (
        {
            "type": "NAdam",
            "momentum_decay": 0.005,
            "decoupled_weight_decay": True,
            "weight_decay": 0.05,
        },
        lambda n: torch.optim.NAdam(
            n.parameters(), momentum_decay=0.005, decoupled_weight_decay=True, weight_decay=0.05
        ),
    ),
    (
        {"type": "RAdam", "lr": 0.01, "weight_decay": 0.05},
        lambda n: torch.optim.RAdam(n.parameters(), lr=0.01, weight_decay=0.05),
    ),
    ({"type": "Adadelta", "rho": 0.8}, lambda n: torch.optim.Adadelta(n.parameters(), rho=0.8)),
    (
        {"type": "Adagrad", "lr": 0.05, "lr_decay": 0.01, "initial_accumulator_value": 0.1},
        lambda n: torch.optim.Adagrad(
            n.parameters(), lr=0.05, lr_decay=0.01, initial_accumulator_value=0.1
        ),
    ),
    (
        {"type": "RMSprop", "alpha": 0.9, "momentum": 0.5, "centered": True},
        lambda n: torch.optim.RMSprop(n.parameters(), alpha=0.9, momentum=0.5, centered=True),
    ),
]


@pytest.mark.parametrize(("optimizer", "make"), CASES, ids=[case[0]["type"] for case in CASES])
def test_every_optimizer_equals_hand_written_loop(
    optimizer: dict[str, Any], make: MakeOptimizer
) -> None:
    got, _ = _fit(_spec(optimizer, epochs=4))
    expected, _ = _hand_loop(make, epochs=4)
    _assert_same(got, expected)


def test_mini_batches_equal_hand_written_loop() -> None:
    got, _ = _fit(_spec({"type": "NAdam", "lr": 0.01}, epochs=3, batch_size=64))
    expected, _ = _hand_loop(lambda n: torch.optim.NAdam(n.parameters(), lr=0.01), 3, 64)
    _assert_same(got, expected)


def test_lbfgs_records_the_first_closure_evaluation_of_each_step() -> None:
    optimizer = {"type": "LBFGS", "lr": 0.5, "max_iter": 4, "history_size": 5}
    optimizer["line_search_fn"] = "strong_wolfe"
    got, _ = _fit(_spec(optimizer, epochs=4))
    x, y = _moons(TEST_DEVICE)
    net = _network().to(TEST_DEVICE)
    lbfgs = torch.optim.LBFGS(
        net.parameters(), lr=0.5, max_iter=4, history_size=5, line_search_fn="strong_wolfe"
    )
    scheduler = torch.optim.lr_scheduler.StepLR(lbfgs, step_size=2, gamma=0.5)
    evaluations = []

    def closure() -> torch.Tensor:
        lbfgs.zero_grad()
        loss = nn.functional.cross_entropy(net(x), y)
        loss.backward()
        evaluations.append(loss.item())
        return loss

    expected = []
    for _ in range(4):
        first = len(evaluations)
        returned = lbfgs.step(closure)
        scheduler.step()
        assert torch.as_tensor(returned).item() == evaluations[first]
        expected.append((evaluations[first], [lbfgs.param_groups[0]["lr"]]))

    _assert_same(got, expected)
    assert len(evaluations) > 4


def _hand_lookahead(params: list[nn.Parameter], k: int, alpha: float) -> Callable[[], None]:
    """After every k-th step: slow <- slow + alpha * (fast - slow), fast <- slow."""
    slow = [p.detach().clone() for p in params]
    steps = [0]

    def after_step() -> None:
        steps[0] += 1
        if steps[0] % k:
            return
        with torch.no_grad():
            for p, s in zip(params, slow, strict=True):
                s.copy_(s + alpha * (p - s))
                p.copy_(s)

    return after_step


def _adam_with_lookahead(k: int, alpha: float, hooks: list[Callable[[], None]]) -> MakeOptimizer:
    def make(net: nn.Sequential) -> torch.optim.Optimizer:
        hooks.append(_hand_lookahead(list(net.parameters()), k, alpha))
        return torch.optim.Adam(net.parameters(), lr=0.05)

    return make


@pytest.mark.parametrize(("k", "batch_size", "epochs"), [(3, None, 8), (5, 64, 3)])
def test_lookahead_equals_hand_written_lookahead(
    k: int, batch_size: int | None, epochs: int
) -> None:
    lookahead = {"type": "Lookahead", "k": k, "alpha": 0.6}
    lookahead["optimizer"] = {"type": "Adam", "lr": 0.05}
    got, _ = _fit(_spec(lookahead, epochs, batch_size))
    hooks: list[Callable[[], None]] = []
    make = _adam_with_lookahead(k, 0.6, hooks)
    expected, _ = _hand_loop(make, epochs, batch_size, after_step=lambda: hooks[0]())
    plain, _ = _fit(_spec({"type": "Adam", "lr": 0.05}, epochs, batch_size))

    _assert_same(got, expected)
    assert abs(got[-1][0] - plain[-1][0]) > 1e-4


class _OriginalRanger:
    """Ranger's update as its original code writes it: RAdam with decoupled weight decay and
    rectification threshold 5, betas (0.95, 0.999), eps 1e-5; Lookahead k=6, alpha=0.5."""

    beta1, beta2, eps, k, alpha = 0.95, 0.999, 1e-5, 6, 0.5

    def __init__(self, params: list[nn.Parameter], weight_decay: float) -> None:
        self.params = params
        self.weight_decay = weight_decay
        self.m = [torch.zeros_like(p) for p in params]
        self.v = [torch.zeros_like(p) for p in params]
        self.slow = [p.detach().clone() for p in params]
        self.t = 0

    @torch.no_grad()
    def step(self, lr: float) -> None:
        self.t += 1
        t, beta1, beta2 = self.t, self.beta1, self.beta2
        rho_inf = 2 / (1 - beta2) - 1
        rho = rho_inf - 2 * t * beta2**t / (1 - beta2**t)
        for p, m, v, slow in zip(self.params, self.m, self.v, self.slow, strict=True):
            grad = p.grad
            assert grad is not None
            v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
            m.mul_(beta1).add_(grad, alpha=1 - beta1)
            p.mul_(1 - lr * self.weight_decay)
            if rho > 5:
                rect = (rho - 4) / (rho_inf - 4) * (rho - 2) / rho * rho_inf / (rho_inf - 2)
                size = math.sqrt((1 - beta2**t) * rect) / (1 - beta1**t)
                p.addcdiv_(m, v.sqrt().add_(self.eps), value=-size * lr)
            else:
                p.add_(m, alpha=-lr / (1 - beta1**t))
            if t % self.k == 0:
                slow.add_(self.alpha * (p - slow))
                p.copy_(slow)


def test_ranger_equals_the_original_ranger_update() -> None:
    got, _ = _fit(_spec({"type": "Ranger", "lr": 0.05, "weight_decay": 0.1}, epochs=14))
    x, y = _moons(TEST_DEVICE)
    net = _network().to(TEST_DEVICE)
    ranger = _OriginalRanger(list(net.parameters()), weight_decay=0.1)
    expected = []
    for epoch in range(14):
        net.zero_grad()
        loss = nn.functional.cross_entropy(net(x), y)
        loss.backward()
        ranger.step(lr=0.05 * 0.5 ** (epoch // 2))
        expected.append((loss.item(), [0.05 * 0.5 ** ((epoch + 1) // 2)]))

    _assert_same(got, expected)


def test_ranger_defaults_are_the_original_rangers() -> None:
    optimizer = build_optimizer(OPTIMIZER_SPEC.validate_python({"type": "Ranger"}), _network())
    assert isinstance(optimizer, Lookahead)
    assert (optimizer.k, optimizer.alpha) == (6, 0.5)
    radam = optimizer.base_optimizer
    assert isinstance(radam, torch.optim.RAdam)
    group = radam.param_groups[0]
    assert (group["lr"], group["betas"], group["eps"]) == (1e-3, (0.95, 0.999), 1e-5)
    assert (group["weight_decay"], group["decoupled_weight_decay"]) == (0.0, True)


def _lookahead_steps(optimizer: torch.optim.Optimizer, net: nn.Sequential, steps: int) -> None:
    x, y = _moons()
    for _ in range(steps):
        optimizer.zero_grad()
        nn.functional.cross_entropy(net(x), y).backward()
        optimizer.step()


def test_lookahead_state_dict_carries_the_slow_weights() -> None:
    spec = OPTIMIZER_SPEC.validate_python(
        {"type": "Lookahead", "k": 3, "optimizer": {"type": "Adam", "lr": 0.05}}
    )
    net = _network()
    optimizer = build_optimizer(spec, net)
    _lookahead_steps(optimizer, net, 4)
    buffer = io.BytesIO()
    torch.save(optimizer.state_dict(), buffer)
    buffer.seek(0)
    saved = torch.load(buffer, weights_only=True)
    resumed_net = copy.deepcopy(net)
    resumed = build_optimizer(spec, resumed_net)
    resumed.load_state_dict(saved)
    fresh_net = copy.deepcopy(net)
    fresh = build_optimizer(spec, fresh_net)
    for pair in [(optimizer, net), (resumed, resumed_net), (fresh, fresh_net)]:
        _lookahead_steps(*pair, 4)

    assert sorted(saved["lookahead"]["slow_params"]) == [0, 1, 2, 3]
    assert saved["lookahead"]["steps"] == 4
    resumed_pairs = zip(net.parameters(), resumed_net.parameters(), strict=True)
    fresh_pairs = zip(net.parameters(), fresh_net.parameters(), strict=True)
    assert all(torch.equal(p, q) for p, q in resumed_pairs)
    assert not all(torch.equal(p, q) for p, q in fresh_pairs)


def test_lookahead_param_groups_are_the_base_optimizers() -> None:
    spec = {"type": "Lookahead", "optimizer": {"type": "SGD", "lr": 0.1}}
    optimizer = build_optimizer(OPTIMIZER_SPEC.validate_python(spec), _network())
    assert isinstance(optimizer, Lookahead)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    optimizer.step()
    scheduler.step()
    assert optimizer.param_groups is optimizer.base_optimizer.param_groups
    assert optimizer.base_optimizer.param_groups[0]["lr"] == pytest.approx(0.05)


class _Scalar(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.tensor(1.0))


def _descend_half_square(optimizer: dict[str, Any], steps: int) -> list[float]:
    """Minimise w^2/2 from w = 1; w after each step."""
    module = _Scalar()
    built = build_optimizer(OPTIMIZER_SPEC.validate_python(optimizer), module)
    path = []
    for _ in range(steps):
        built.zero_grad()
        (module.w**2 / 2).backward()
        built.step()
        path.append(module.w.item())
    return path


def test_catalogue_sgd_momentum_steps_are_0_1_then_0_18() -> None:
    w1, w2 = _descend_half_square({"type": "SGD", "lr": 0.1, "momentum": 0.9}, 2)
    assert 1.0 - w1 == pytest.approx(0.1, abs=1e-7)
    assert w1 - w2 == pytest.approx(0.18, abs=1e-7)


def test_catalogue_adam_one_step_from_one_is_0_9() -> None:
    assert _descend_half_square({"type": "Adam", "lr": 0.1}, 1) == pytest.approx([0.9], abs=1e-7)


def test_catalogue_rmsprop_with_tensorflow_rho_and_eps_gives_0_6838() -> None:
    (w,) = _descend_half_square({"type": "RMSprop", "lr": 0.1, "alpha": 0.9, "eps": 1e-7}, 1)
    assert w == pytest.approx(0.6838, abs=1e-4)
    assert w == pytest.approx(1 - 0.1 / (math.sqrt(0.1) + 1e-7), abs=1e-7)


def _sgd_with_a_head_group(net: nn.Sequential) -> torch.optim.Optimizer:
    groups: list[dict[str, Any]] = [
        {"params": net.get_submodule("hidden").parameters()},
        {"params": net.get_submodule("head").parameters(), "lr": 0.2, "momentum": 0.5},
    ]
    return torch.optim.SGD(groups, lr=0.01, momentum=0.9)


def test_param_groups_with_their_own_lr_show_up_as_lr_0_and_lr_1() -> None:
    optimizer: dict[str, Any] = {"type": "SGD", "lr": 0.01, "momentum": 0.9}
    optimizer["param_groups"] = [{"layers": ["head"], "lr": 0.2, "momentum": 0.5}]
    got, _ = _fit(_spec(optimizer, epochs=4))
    expected, _ = _hand_loop(_sgd_with_a_head_group, epochs=4)

    _assert_same(got, expected)
    assert got[-1][1] == pytest.approx([0.0025, 0.05])


def _net3() -> nn.Sequential:
    return nn.Sequential(OrderedDict(a=nn.Linear(2, 3), b=nn.Linear(3, 3), c=nn.Linear(3, 1)))


def test_group_order_is_default_then_groups_then_their_no_decay_twins() -> None:
    spec = {
        "type": "AdamW",
        "weight_decay": 0.05,
        "no_decay_on_bias": True,
        "param_groups": [{"layers": ["c"], "lr": 0.1}, {"layers": ["b"], "weight_decay": 0.2}],
    }
    net = _net3()
    groups = build_optimizer(OPTIMIZER_SPEC.validate_python(spec), net).param_groups
    expected = [
        (net.get_parameter("a.weight"), 0.001, 0.05),
        (net.get_parameter("c.weight"), 0.1, 0.05),
        (net.get_parameter("b.weight"), 0.001, 0.2),
        (net.get_parameter("a.bias"), 0.001, 0.0),
        (net.get_parameter("c.bias"), 0.1, 0.0),
        (net.get_parameter("b.bias"), 0.001, 0.0),
    ]
    assert len(groups) == len(expected)
    for group, (param, lr, weight_decay) in zip(groups, expected, strict=True):
        assert len(group["params"]) == 1
        assert group["params"][0] is param
        assert (group["lr"], group["weight_decay"]) == (lr, weight_decay)


def _regression_run(no_decay_on_bias: bool) -> TrainingRun:
    spec: dict[str, Any] = {
        "dataset": {"type": "regression", "n_samples": 20, "n_features": 5, "noise": 0.1},
        "model": {"layers": [{"type": "Linear", "out_features": 1}]},
        "loss": {"type": "MSELoss"},
        "optimizer": {"type": "SGD", "lr": 0.01, "weight_decay": 3.0},
        "training": {"epochs": 5, "batch_size": 5, "seed": 2},
    }
    spec["optimizer"]["no_decay_on_bias"] = no_decay_on_bias
    run = build_run(TrainingSpec.model_validate(spec), TEST_DEVICE)
    fit(run, ListSink())
    return run


def _hand_regression(decay_bias: bool) -> nn.Linear:
    x_np, y_np = make_regression(n_samples=20, n_features=5, noise=0.1, random_state=0)
    x = torch.tensor(x_np, dtype=torch.float32).to(TEST_DEVICE)
    y = torch.tensor(y_np, dtype=torch.float32).reshape(20, 1).to(TEST_DEVICE)
    torch.manual_seed(2)
    linear = nn.Linear(5, 1).to(TEST_DEVICE)
    bias_group = (
        {"params": [linear.bias]} if decay_bias else {"params": [linear.bias], "weight_decay": 0}
    )
    optimizer = torch.optim.SGD(
        [{"params": [linear.weight]}, bias_group], lr=0.01, weight_decay=3.0
    )
    generator = torch.Generator().manual_seed(2)
    for _ in range(5):
        for xb, yb in _batches(x, y, 5, generator):
            optimizer.zero_grad()
            nn.functional.mse_loss(linear(xb), yb).backward()
            optimizer.step()
    return linear


def test_no_decay_on_bias_leaves_the_bias_undecayed() -> None:
    run = _regression_run(no_decay_on_bias=True)
    weight, bias = run.network.get_parameter("0.weight"), run.network.get_parameter("0.bias")
    undecayed, decayed = _hand_regression(decay_bias=False), _hand_regression(decay_bias=True)

    assert [g["weight_decay"] for g in run.optimizer.param_groups] == [3.0, 0.0]
    assert torch.allclose(weight, undecayed.weight, atol=ATOL)
    assert torch.allclose(bias, undecayed.bias, atol=ATOL)
    assert not torch.allclose(bias, decayed.bias, atol=1e-3)
    everything_decayed = _regression_run(no_decay_on_bias=False).network.get_parameter("0.bias")
    assert torch.allclose(everything_decayed, decayed.bias, atol=ATOL)


def test_referenced_layers_lists_every_grouped_layer() -> None:
    groups = [{"layers": ["hidden", "2"]}, {"layers": ["head"], "lr": 0.1}]
    spec = OPTIMIZER_SPEC.validate_python({"type": "SGD", "param_groups": groups})
    wrapped = OPTIMIZER_SPEC.validate_python(
        {"type": "Lookahead", "optimizer": {"type": "SGD", "param_groups": groups}}
    )
    assert spec.referenced_layers() == {"hidden", "2", "head"}
    assert wrapped.referenced_layers() == {"hidden", "2", "head"}
    assert OPTIMIZER_SPEC.validate_python({"type": "Ranger"}).referenced_layers() == set()


def test_unknown_layer_name_fails_at_build_time_too() -> None:
    spec = OPTIMIZER_SPEC.validate_python({"type": "SGD", "param_groups": [{"layers": ["x"]}]})
    with pytest.raises(ValueError, match="unknown layers: x"):
        build_optimizer(spec, _network())


def _error(optimizer: dict[str, Any]) -> dict[str, Any]:
    with pytest.raises(ValidationError) as raised:
        OPTIMIZER_SPEC.validate_python(optimizer)
    errors = raised.value.errors()
    assert len(errors) == 1, errors
    return dict(errors[0])


def test_unknown_optimizer_type_is_refused() -> None:
    assert _error({"type": "Adamm"})["type"] == "union_tag_invalid"


@pytest.mark.parametrize("name", ["SGD", "Adam", "LBFGS", "Ranger"])
@pytest.mark.parametrize("lr", [0.0, -0.1])
def test_lr_must_be_positive(name: str, lr: float) -> None:
    error = _error({"type": name, "lr": lr})
    assert error["loc"] == (name, "lr")
    assert error["type"] == "greater_than"


@pytest.mark.parametrize("betas", [[1.0, 0.999], [0.9, 1.0], [-0.1, 0.999]])
def test_betas_must_be_in_zero_one(betas: list[float]) -> None:
    error = _error({"type": "Adam", "betas": betas})
    assert error["loc"][:2] == ("Adam", "betas")


def test_group_betas_must_be_in_zero_one() -> None:
    error = _error({"type": "Adam", "param_groups": [{"layers": ["a"], "betas": [0.9, 1.5]}]})
    assert error["loc"][:4] == ("Adam", "param_groups", 0, "betas")


def test_a_layer_in_two_groups_is_refused() -> None:
    groups = [{"layers": ["a", "b"]}, {"layers": ["b"], "lr": 0.1}]
    error = _error({"type": "SGD", "param_groups": groups})
    assert error["loc"] == ("SGD", "param_groups")
    assert "one parameter group only; repeated: b" in error["msg"]


@pytest.mark.parametrize(
    ("name", "option", "value"),
    [("Adam", "momentum", 0.9), ("SGD", "betas", [0.9, 0.99]), ("Rprop", "weight_decay", 0.1)],
)
def test_a_group_option_the_optimizer_lacks_is_refused(name: str, option: str, value: Any) -> None:
    error = _error({"type": name, "param_groups": [{"layers": ["a"], option: value}]})
    assert error["loc"] == (name, "param_groups")
    assert f"{name} has no option {option}" in error["msg"]


@pytest.mark.parametrize("name", ["Rprop", "LBFGS"])
def test_no_decay_on_bias_needs_weight_decay(name: str) -> None:
    error = _error({"type": name, "no_decay_on_bias": True})
    assert error["loc"] == (name, "no_decay_on_bias")


@pytest.mark.parametrize(
    ("optimizer", "loc"),
    [
        ({"type": "LBFGS", "param_groups": [{"layers": ["a"]}]}, ("LBFGS", "param_groups")),
        ({"type": "SGD", "nesterov": True}, ("SGD",)),
        ({"type": "Lookahead", "optimizer": {"type": "LBFGS"}}, ("Lookahead", "optimizer")),
        (
            {"type": "Lookahead", "optimizer": {"type": "Lookahead", "optimizer": {"type": "SGD"}}},
            ("Lookahead", "optimizer"),
        ),
        ({"type": "Lookahead", "k": 0, "optimizer": {"type": "SGD"}}, ("Lookahead", "k")),
        ({"type": "Lookahead", "alpha": 1.5, "optimizer": {"type": "SGD"}}, ("Lookahead", "alpha")),
        (
            {"type": "Lookahead", "param_groups": [], "optimizer": {"type": "SGD"}},
            ("Lookahead", "param_groups"),
        ),
        ({"type": "Lookahead"}, ("Lookahead", "optimizer")),
        ({"type": "Ranger", "k": 0}, ("Ranger", "k")),
    ],
)
def test_invalid_optimizer_specs_are_refused(
    optimizer: dict[str, Any], loc: tuple[Any, ...]
) -> None:
    assert _error(optimizer)["loc"] == loc
