"""The benchmark workloads, each as a gradq spec and as the PyTorch a user would write."""

import copy
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch
from sklearn import datasets as sk_datasets
from torch import nn

from tests.helpers import MOONS_GOLDEN
from training.spec.targets import TargetKind

Tensors = tuple[torch.Tensor, torch.Tensor]
CPU = torch.device("cpu")


@dataclass(frozen=True)
class PlainSetup:
    """What a user's script builds before its loop: data, network, loss, optimizer, schedule."""

    x: torch.Tensor
    y: torch.Tensor
    network: nn.Module
    loss_fn: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler | None
    epochs: int
    batch_size: int | None
    seed: int
    target_kind: TargetKind = TargetKind.CLASS_INDEX

    def to(self, device: torch.device) -> "PlainSetup":
        """Network, loss and data on device, as a script moves them before its loop (the
        optimizer keeps the same parameters: Module.to moves them in place)."""
        self.network.to(device)
        self.loss_fn.to(device)
        return replace(self, x=self.x.to(device), y=self.y.to(device))


@dataclass(frozen=True)
class Workload:
    name: str
    description: str
    spec: dict[str, Any]
    plain: Callable[[dict[str, Any]], PlainSetup]
    device: torch.device = CPU

    def plain_setup(self) -> PlainSetup:
        """The script's setup on the workload's device."""
        return self.plain(self.spec).to(self.device)

    def on(self, device: torch.device) -> "Workload":
        return replace(self, device=device)

    @property
    def epochs(self) -> int:
        return int(self.spec["training"]["epochs"])

    @property
    def samples(self) -> int:
        return int(self.spec["dataset"]["n_samples"])

    def sized(self, scale: float) -> "Workload":
        """The same workload with epochs and samples scaled down (at least 1 and 2 of them)."""
        if scale >= 1:
            return self
        spec = copy.deepcopy(self.spec)
        spec["training"]["epochs"] = max(1, round(spec["training"]["epochs"] * scale))
        dataset = spec["dataset"]
        if dataset["type"] == "random":
            dataset["n_samples"] = max(2, round(dataset["n_samples"] * scale))
        return replace(self, spec=spec)


def _random_data(dataset: dict[str, Any]) -> Tensors:
    """Random features and class labels, drawn as a script would draw them with numpy."""
    rng = np.random.default_rng(dataset.get("random_state", 0))
    shape = (dataset["n_samples"], *dataset["input_shape"])
    x = rng.standard_normal(shape, dtype=np.float32)
    y = rng.integers(0, dataset["num_classes"], size=dataset["n_samples"])
    return torch.as_tensor(x), torch.as_tensor(y, dtype=torch.int64)


MOONS_SPEC: dict[str, Any] = MOONS_GOLDEN


def _plain_moons(spec: dict[str, Any]) -> PlainSetup:
    x, y = sk_datasets.make_moons(n_samples=200, noise=0.2, random_state=0)
    torch.manual_seed(0)
    network = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 2))
    optimizer = torch.optim.Adam(network.parameters(), lr=0.01)
    return PlainSetup(
        x=torch.as_tensor(x, dtype=torch.float32),
        y=torch.as_tensor(y, dtype=torch.int64),
        network=network,
        loss_fn=nn.CrossEntropyLoss(),
        optimizer=optimizer,
        scheduler=torch.optim.lr_scheduler.StepLR(optimizer, step_size=50, gamma=0.99),
        epochs=spec["training"]["epochs"],
        batch_size=None,
        seed=0,
    )


MLP_SPEC: dict[str, Any] = {
    "dataset": {"type": "random", "n_samples": 60_000, "input_shape": [784], "num_classes": 10},
    "model": {
        "layers": [
            {"type": "Linear", "out_features": 256},
            {"type": "ReLU"},
            {"type": "Dropout", "p": 0.2},
            {"type": "Linear", "out_features": 256},
            {"type": "ReLU"},
            {"type": "Dropout", "p": 0.5},
            {"type": "Linear", "out_features": 10},
        ]
    },
    "loss": {"type": "CrossEntropyLoss"},
    "optimizer": {"type": "SGD", "lr": 0.5},
    "training": {"epochs": 2, "batch_size": 256, "seed": 0},
}


def _plain_mlp(spec: dict[str, Any]) -> PlainSetup:
    x, y = _random_data(spec["dataset"])
    torch.manual_seed(0)
    network = nn.Sequential(
        nn.Linear(784, 256),
        nn.ReLU(),
        nn.Dropout(0.2),
        nn.Linear(256, 256),
        nn.ReLU(),
        nn.Dropout(0.5),
        nn.Linear(256, 10),
    )
    return PlainSetup(
        x=x,
        y=y,
        network=network,
        loss_fn=nn.CrossEntropyLoss(),
        optimizer=torch.optim.SGD(network.parameters(), lr=0.5),
        scheduler=None,
        epochs=spec["training"]["epochs"],
        batch_size=256,
        seed=0,
    )


CNN_SPEC: dict[str, Any] = {
    "dataset": {"type": "random", "n_samples": 512, "input_shape": [1, 28, 28], "num_classes": 10},
    "model": {
        "layers": [
            {"type": "Conv2d", "out_channels": 64, "kernel_size": 3, "padding": 1},
            {"type": "ReLU"},
            {"type": "Conv2d", "out_channels": 128, "kernel_size": 3, "padding": 1},
            {"type": "ReLU"},
            {"type": "MaxPool2d", "kernel_size": 2, "stride": 2},
            {"type": "Flatten"},
            {"type": "Linear", "out_features": 1024},
            {"type": "ReLU"},
            {"type": "Dropout", "p": 0.5},
            {"type": "Linear", "out_features": 10},
        ]
    },
    "loss": {"type": "CrossEntropyLoss"},
    "optimizer": {"type": "Adam", "lr": 0.001},
    "training": {"epochs": 1, "batch_size": 64, "seed": 0},
}


def _plain_cnn(spec: dict[str, Any]) -> PlainSetup:
    x, y = _random_data(spec["dataset"])
    torch.manual_seed(0)
    network = nn.Sequential(
        nn.Conv2d(1, 64, kernel_size=3, stride=1, padding=1),
        nn.ReLU(),
        nn.Conv2d(64, 128, kernel_size=3, stride=1, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(stride=2, kernel_size=2),
        nn.Flatten(),
        nn.Linear(14 * 14 * 128, 1024),
        nn.ReLU(),
        nn.Dropout(p=0.5),
        nn.Linear(1024, 10),
    )
    return PlainSetup(
        x=x,
        y=y,
        network=network,
        loss_fn=nn.CrossEntropyLoss(),
        optimizer=torch.optim.Adam(network.parameters(), lr=0.001),
        scheduler=None,
        epochs=spec["training"]["epochs"],
        batch_size=64,
        seed=0,
    )


WEIGHT_DECAY_SPEC: dict[str, Any] = {
    "dataset": {"type": "regression", "n_samples": 20, "n_features": 200, "noise": 0.01},
    "model": {
        "layers": [{"type": "Linear", "out_features": 1}],
        "init": [
            {
                "layer_types": ["Linear"],
                "weight": {"type": "normal_"},
                "bias": {"type": "normal_"},
            }
        ],
    },
    "loss": {"type": "MSELoss"},
    "optimizer": {"type": "SGD", "lr": 0.003, "weight_decay": 3.0, "no_decay_on_bias": True},
    "training": {"epochs": 100, "batch_size": 5, "seed": 0},
}


def _plain_weight_decay(spec: dict[str, Any]) -> PlainSetup:
    x, y = sk_datasets.make_regression(n_samples=20, n_features=200, noise=0.01, random_state=0)
    torch.manual_seed(0)
    network = nn.Sequential(nn.Linear(200, 1))
    for param in network.parameters():
        param.data.normal_()
    layer = network[0]
    groups: list[dict[str, Any]] = [
        {"params": layer.weight, "weight_decay": 3.0},
        {"params": layer.bias},
    ]
    optimizer = torch.optim.SGD(groups, lr=0.003)
    return PlainSetup(
        x=torch.as_tensor(x, dtype=torch.float32),
        y=torch.as_tensor(y, dtype=torch.float32).reshape(-1, 1),
        network=network,
        loss_fn=nn.MSELoss(),
        optimizer=optimizer,
        scheduler=None,
        epochs=spec["training"]["epochs"],
        batch_size=5,
        seed=0,
        target_kind=TargetKind.REGRESSION,
    )


WORKLOADS: dict[str, Workload] = {
    workload.name: workload
    for workload in [
        Workload("moons", "2-3-2 Tanh, Adam, StepLR, full batch", MOONS_SPEC, _plain_moons),
        Workload(
            "mlp",
            "784-256-256-10 MLP with dropout, SGD, batch 256",
            MLP_SPEC,
            _plain_mlp,
        ),
        Workload(
            "cnn",
            "2-conv CNN on 1x28x28 images, Adam, batch 64",
            CNN_SPEC,
            _plain_cnn,
        ),
        Workload(
            "weight_decay",
            "linear regression, 200 features, SGD weight decay 3 on weights only, batch 5",
            WEIGHT_DECAY_SPEC,
            _plain_weight_decay,
        ),
    ]
}
