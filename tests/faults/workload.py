"""A job slow enough to be interrupted (about 0.1 s an epoch), and its uninterrupted numbers."""

from typing import Any

import torch

from training.loop import fit
from training.run import build_run
from training.sinks import ListSink
from training.spec import TrainingSpec


def slow_spec(epochs: int = 60) -> dict[str, Any]:
    return {
        "dataset": {
            "type": "classification",
            "n_samples": 3000,
            "n_features": 20,
            "random_state": 1,
        },
        "model": {
            "layers": [
                {"type": "Linear", "out_features": 64},
                {"type": "ReLU"},
                {"type": "Dropout", "p": 0.1},
                {"type": "Linear", "out_features": 2},
            ]
        },
        "loss": {"type": "CrossEntropyLoss"},
        "optimizer": {"type": "Adam", "lr": 0.001},
        "scheduler": {"type": "StepLR", "step_size": 5, "gamma": 0.9},
        "training": {"epochs": epochs, "batch_size": 16, "seed": 7, "device": "cpu"},
    }


def uninterrupted(spec: dict[str, Any]) -> list[dict[str, float]]:
    """Every epoch's metrics of the spec run start to end in this process."""
    sink = ListSink()
    fit(build_run(TrainingSpec.model_validate(spec), torch.device("cpu")), sink)
    return sink.epochs
