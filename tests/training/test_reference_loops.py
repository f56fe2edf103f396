"""gradq's loop against hand-written PyTorch loops with the same seed (atol 1e-6)."""

from typing import Any

import pytest
import torch
from sklearn.datasets import make_moons, make_regression
from torch import nn

from tests.helpers import MOONS_GOLDEN, TEST_DEVICE, moons_spec
from training.loop import fit
from training.run import build_run
from training.sinks import ListSink
from training.spec import TrainingSpec

ATOL = 1e-6


def _run(spec: dict[str, Any]) -> list[dict[str, float]]:
    sink = ListSink()
    fit(build_run(TrainingSpec.model_validate(spec), TEST_DEVICE), sink)
    return sink.epochs


def _moons_tensors() -> tuple[torch.Tensor, torch.Tensor]:
    x, y = make_moons(n_samples=200, noise=0.2, random_state=0)
    x_t, y_t = torch.tensor(x, dtype=torch.float32), torch.tensor(y, dtype=torch.int64)
    return x_t.to(TEST_DEVICE), y_t.to(TEST_DEVICE)


def _moons_network() -> nn.Sequential:
    """Built on the CPU under the caller's seed, then moved, as build_run does."""
    return nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 2)).to(TEST_DEVICE)


def test_golden_moons_full_batch_equals_hand_written_loop() -> None:
    epochs = _run(MOONS_GOLDEN)
    x, y = _moons_tensors()
    torch.manual_seed(0)
    net = _moons_network()
    optimizer = torch.optim.Adam(net.parameters(), lr=0.01)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=50, gamma=0.99)
    loss_fn = nn.CrossEntropyLoss()
    expected_loss, expected_lr = [], []
    for _ in range(1000):
        optimizer.zero_grad()
        loss = loss_fn(net(x), y)
        loss.backward()
        optimizer.step()
        scheduler.step()
        expected_loss.append(loss.item())
        expected_lr.append(optimizer.param_groups[0]["lr"])

    assert [e["epoch"] for e in epochs] == list(range(1, 1001))
    assert [e["train_loss"] for e in epochs] == pytest.approx(expected_loss, abs=ATOL)
    assert [e["lr/0"] for e in epochs] == pytest.approx(expected_lr, abs=1e-12)
    assert epochs[-1]["lr/0"] == pytest.approx(0.01 * 0.99**20, abs=1e-12)
    assert epochs[0]["train_loss"] > 0.5
    assert epochs[-1]["train_loss"] < 0.1


def test_shuffled_mini_batches_follow_the_seeded_generator() -> None:
    spec = moons_spec(epochs=5, batch_size=32, seed=7)
    spec["optimizer"] = {"type": "SGD", "lr": 0.1, "momentum": 0.9}
    spec["scheduler"] = {"type": "StepLR", "step_size": 3, "gamma": 0.5, "interval": "batch"}
    epochs = _run(spec)
    x, y = _moons_tensors()
    torch.manual_seed(7)
    net = _moons_network()
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=3, gamma=0.5)
    loss_fn = nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(7)
    expected = []
    for _ in range(5):
        # drawn on the CPU, then moved, as gradq's loop does
        order = torch.randperm(200, generator=generator).to(TEST_DEVICE)
        total = 0.0
        for start in range(0, 200, 32):
            index = order[start : start + 32]
            optimizer.zero_grad()
            loss = loss_fn(net(x[index]), y[index])
            loss.backward()
            optimizer.step()
            scheduler.step()
            total += loss.item() * len(index)
        expected.append((total / 200, optimizer.param_groups[0]["lr"]))

    assert [e["iterations"] for e in epochs] == [7.0] * 5
    assert [e["train_loss"] for e in epochs] == pytest.approx([t for t, _ in expected], abs=ATOL)
    assert [e["lr/0"] for e in epochs] == pytest.approx([lr for _, lr in expected], abs=1e-12)


def test_regression_with_mse_equals_hand_written_loop() -> None:
    spec = {
        "dataset": {"type": "regression", "n_samples": 50, "n_features": 4, "noise": 0.1},
        "model": {
            "layers": [
                {"type": "Linear", "out_features": 8},
                {"type": "ReLU"},
                {"type": "Linear", "out_features": 1},
            ]
        },
        "loss": {"type": "MSELoss"},
        "optimizer": {"type": "SGD", "lr": 0.001},
        "training": {"epochs": 20, "seed": 3},
    }
    epochs = _run(spec)
    x_np, y_np = make_regression(n_samples=50, n_features=4, noise=0.1, random_state=0)
    x = torch.tensor(x_np, dtype=torch.float32).to(TEST_DEVICE)
    y = torch.tensor(y_np, dtype=torch.float32).reshape(50, 1).to(TEST_DEVICE)
    torch.manual_seed(3)
    net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1)).to(TEST_DEVICE)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.001)
    expected = []
    for _ in range(20):
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(net(x), y)
        loss.backward()
        optimizer.step()
        expected.append(loss.item())

    assert [e["train_loss"] for e in epochs] == pytest.approx(expected, abs=ATOL)
    assert "train_accuracy" not in epochs[0]


def test_train_accuracy_counts_correct_predictions_of_the_epoch() -> None:
    epochs = _run(moons_spec(epochs=1))
    x, y = _moons_tensors()
    torch.manual_seed(0)
    accuracy = (_moons_network()(x).argmax(dim=1) == y).sum().item() / 200
    assert epochs[0]["train_accuracy"] == pytest.approx(accuracy, abs=1e-9)
