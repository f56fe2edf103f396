"""Specs and small builders shared by the tests."""

import copy
from typing import Any

MOONS_GOLDEN: dict[str, Any] = {
    "dataset": {"type": "moons", "n_samples": 200, "noise": 0.2, "random_state": 0},
    "model": {
        "layers": [
            {"type": "Linear", "out_features": 3},
            {"type": "Tanh"},
            {"type": "Linear", "out_features": 2},
        ]
    },
    "loss": {"type": "CrossEntropyLoss"},
    "optimizer": {"type": "Adam", "lr": 0.01},
    "scheduler": {"type": "StepLR", "step_size": 50, "gamma": 0.99},
    "training": {"epochs": 1000, "batch_size": None, "seed": 0},
}


def moons_spec(**training: Any) -> dict[str, Any]:
    """The golden moons spec, with training options overridden."""
    spec = copy.deepcopy(MOONS_GOLDEN)
    spec["training"].update(training)
    return spec
