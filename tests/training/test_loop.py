"""The loop itself: penalties, clipping, max-norm, early stopping, evaluation, divergence."""

import copy
from typing import Any

import pytest
import torch
from sklearn.datasets import make_moons
from sklearn.metrics import r2_score
from torch import nn

from tests.helpers import moons_spec
from training.build.data import TensorData
from training.evaluation import evaluate, target_metrics
from training.loop import TrainingDiverged, fit
from training.run import build_run
from training.sinks import ListSink
from training.spec import TrainingSpec
from training.spec.batching import steps_per_epoch
from training.spec.targets import TargetKind

ATOL = 1e-6


def _fit(spec: dict[str, Any]) -> tuple[ListSink, Any]:
    sink = ListSink()
    run = build_run(TrainingSpec.model_validate(spec), torch.device("cpu"))
    return sink, (fit(run, sink), run)


def _moons() -> tuple[torch.Tensor, torch.Tensor]:
    x, y = make_moons(n_samples=200, noise=0.2, random_state=0)
    return torch.tensor(x, dtype=torch.float32), torch.tensor(y, dtype=torch.int64)


def _sgd_reference(epochs: int, step_hook: Any, lr: float = 0.5) -> list[float]:
    """Full-batch SGD on the moons 2-3-2 net; step_hook(net, data_loss) -> objective."""
    x, y = _moons()
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 2))
    optimizer = torch.optim.SGD(net.parameters(), lr=lr)
    losses = []
    for _ in range(epochs):
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(net(x), y)
        objective, after_backward, after_step = step_hook(net, loss)
        objective.backward()
        after_backward(net)
        optimizer.step()
        after_step(net)
        losses.append(loss.item())
    return losses


def _noop(_net: nn.Module) -> None:
    return None


def _sgd_spec(**regularization: Any) -> dict[str, Any]:
    spec = moons_spec(epochs=15)
    spec["optimizer"] = {"type": "SGD", "lr": 0.5}
    spec["scheduler"] = None
    spec["regularization"] = regularization
    return spec


def _weights(net: nn.Module) -> list[torch.Tensor]:
    return [net[0].weight, net[2].weight]  # type: ignore[index]


def test_l1_and_l2_penalties_join_the_objective_not_the_reported_loss() -> None:
    sink, _ = _fit(_sgd_spec(l1=0.01, l2=0.1))

    def hook(net: nn.Module, loss: torch.Tensor) -> Any:
        ws = _weights(net)
        extra = 0.01 * sum(w.abs().sum() for w in ws) + 0.1 * sum(w.pow(2).sum() for w in ws) / 2
        return loss + extra, _noop, _noop

    expected = _sgd_reference(15, hook)
    assert [e["train_loss"] for e in sink.epochs] == pytest.approx(expected, abs=ATOL)
    assert all(e["train_penalty"] > 0 for e in sink.epochs)
    plain, _ = _fit(_sgd_spec())
    assert "train_penalty" not in plain.epochs[0]
    assert plain.epochs[-1]["train_loss"] != pytest.approx(sink.epochs[-1]["train_loss"], abs=1e-4)


@pytest.mark.parametrize(
    ("clip", "apply"),
    [
        (
            {"type": "norm", "max_norm": 0.05},
            lambda n: nn.utils.clip_grad_norm_(n.parameters(), 0.05),
        ),
        (
            {"type": "value", "clip_value": 0.01},
            lambda n: nn.utils.clip_grad_value_(n.parameters(), 0.01),
        ),
    ],
)
def test_gradient_clipping(clip: dict[str, Any], apply: Any) -> None:
    sink, _ = _fit(_sgd_spec(grad_clip=clip))
    expected = _sgd_reference(15, lambda _net, loss: (loss, apply, _noop))
    assert [e["train_loss"] for e in sink.epochs] == pytest.approx(expected, abs=ATOL)
    unclipped, _ = _fit(_sgd_spec())
    assert unclipped.epochs[-1]["train_loss"] < sink.epochs[-1]["train_loss"] - 1e-3


def test_max_norm_caps_each_units_incoming_weights() -> None:
    sink, (_, run) = _fit(_sgd_spec(max_norm=0.5))

    @torch.no_grad()
    def cap(net: nn.Module) -> None:
        for w in _weights(net):
            norms = w.norm(dim=1, keepdim=True)
            w.mul_(torch.clamp(0.5 / (norms + 1e-12), max=1.0))

    expected = _sgd_reference(15, lambda _net, loss: (loss, _noop, cap))
    assert [e["train_loss"] for e in sink.epochs] == pytest.approx(expected, abs=ATOL)
    for w in _weights(run.network):
        assert float(w.detach().norm(dim=1).max()) <= 0.5 + 1e-6


def test_early_stopping_stops_after_patience_and_restores_best_weights() -> None:
    spec = moons_spec(epochs=100)
    spec["optimizer"] = {"type": "SGD", "lr": 1e-9}
    spec["scheduler"] = None
    spec["training"]["early_stopping"] = {
        "monitor": "train_loss",
        "patience": 3,
        "min_delta": 1e-3,
        "restore_best_weights": True,
    }
    torch.manual_seed(0)
    initial = copy.deepcopy(nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 2)).state_dict())
    sink, (result, run) = _fit(spec)
    assert (result.stop_reason, result.epochs_completed, result.best_epoch) == (
        "early_stopped",
        4,
        1,
    )
    assert len(sink.epochs) == 4
    [event] = sink.events
    assert event["kind"] == "early_stopped"
    assert (event["epoch"], event["best_epoch"], event["restored_best_weights"]) == (4, 1, True)
    # the best epoch's weights are those after its step: the initial ones moved by 1e-9 at most
    for key, value in run.network.state_dict().items():
        assert torch.allclose(value, initial[key], atol=1e-6)


def test_early_stopping_on_a_metric_that_is_not_recorded_fails_clearly() -> None:
    spec = moons_spec(epochs=3)
    spec["training"]["early_stopping"] = {"monitor": "val_loss"}
    with pytest.raises(ValueError, match="'val_loss' is not recorded"):
        _fit(spec)


def test_non_finite_loss_raises_with_the_epoch() -> None:
    spec = {
        "dataset": {"type": "regression", "n_samples": 20, "n_features": 3, "noise": 1.0},
        "model": {"layers": [{"type": "Linear", "out_features": 1}]},
        "loss": {"type": "MSELoss"},
        "optimizer": {"type": "SGD", "lr": 1e6},
        "training": {"epochs": 200},
    }
    with pytest.raises(TrainingDiverged) as caught:
        _fit(spec)
    assert caught.value.reason == "non_finite_loss"
    assert 1 < caught.value.epoch < 200


def test_evaluate_uses_eval_mode_and_the_whole_split() -> None:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.5), nn.Linear(8, 3))
    x = torch.randn(10, 4)
    y = torch.randint(0, 3, (10,))
    net.eval()
    expected_out = net(x)
    net.train()
    data = TensorData(x, y, TargetKind.CLASS_INDEX)
    metrics = evaluate(net, nn.CrossEntropyLoss(), data, batch_size=3)
    assert net.training
    expected_loss = nn.functional.cross_entropy(expected_out, y).item()
    assert metrics["val_loss"] == pytest.approx(expected_loss, abs=ATOL)
    accuracy = (expected_out.argmax(dim=1) == y).sum().item() / 10
    assert metrics["val_accuracy"] == pytest.approx(accuracy)


def test_regression_metrics_match_sklearn() -> None:
    generator = torch.Generator().manual_seed(1)
    targets = torch.randn(50, 3, generator=generator)
    outputs = targets + 0.3 * torch.randn(50, 3, generator=generator)
    metrics = target_metrics("val", outputs, targets, TargetKind.REGRESSION)
    assert metrics["val_r2"] == pytest.approx(r2_score(targets.numpy(), outputs.numpy()), abs=1e-6)
    assert metrics["val_mae"] == pytest.approx((outputs - targets).abs().mean().item(), abs=1e-6)


@pytest.mark.parametrize(
    ("n", "batch", "drop_last", "steps"),
    [
        (50_000, 256, False, 196),
        (50_000, 256, True, 195),
        (200, None, False, 1),
        (10, 1, False, 10),
    ],
)
def test_steps_per_epoch_arithmetic(n: int, batch: int | None, drop_last: bool, steps: int) -> None:
    assert steps_per_epoch(n, batch, drop_last) == steps
