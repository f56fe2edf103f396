"""Specs and small builders shared by the tests."""

import copy
import os
from typing import Any

import torch

# GRADQ_TEST_DEVICE=cuda runs the reference-loop tests (gradq and hand-written loops) on a GPU
TEST_DEVICE = torch.device(os.environ.get("GRADQ_TEST_DEVICE", "cpu"))

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
