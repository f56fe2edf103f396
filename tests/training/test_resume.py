"""A run stopped at an epoch boundary and resumed from its checkpoint equals an uninterrupted one.

Every optimizer and schedule of the catalogue, early stopping, dropout with shuffled mini-batches
and augmentation: after the checkpoint is written with torch.save and read back with
torch.load(weights_only=True), the remaining epochs are bit-for-bit those of the uninterrupted run.
"""

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

from tests.helpers import TEST_DEVICE, moons_spec
from tests.training.test_optimizers import CASES as OPTIMIZER_CASES
from tests.training.test_schedulers import CASES as SCHEDULER_CASES
from training import checkpoint
from training.loop import StopReason, fit
from training.run import build_run
from training.sinks import ListSink
from training.spec import TrainingSpec

EPOCHS = 8
STOP_AFTER = 3


class PauseAt:
    """Writes a checkpoint after epoch `at` and stops there, as a pause does."""

    def __init__(self, at: int, path: Path) -> None:
        self.at = at
        self.path = path

    def interrupt(self) -> StopReason | None:
        return None

    def after_epoch(self, epoch: int, state: Callable[[], dict[str, Any]]) -> StopReason | None:
        if epoch != self.at:
            return None
        checkpoint.write(self.path, state())
        return "paused"


def _resumed_equals_uninterrupted(spec_json: dict[str, Any], tmp_path: Path) -> None:
    spec = TrainingSpec.model_validate(spec_json)
    whole = ListSink()
    fit(build_run(spec, TEST_DEVICE), whole)

    first = ListSink()
    path = tmp_path / "checkpoint.pt"
    stopped = fit(build_run(spec, TEST_DEVICE), first, PauseAt(STOP_AFTER, path))
    assert (stopped.stop_reason, stopped.epochs_completed) == ("paused", STOP_AFTER)

    # something else draws random numbers in between, as another job in the worker would
    torch.manual_seed(12345)
    torch.rand(7)
    rest = ListSink()
    state = checkpoint.read(path, TEST_DEVICE)
    assert state is not None
    result = fit(build_run(spec, TEST_DEVICE), rest, resume_from=state)

    def strip(epochs: list[dict[str, float]]) -> list[dict[str, float]]:
        timing = {"seconds", "samples_per_second"}
        return [{k: v for k, v in e.items() if k not in timing} for e in epochs]

    assert strip(first.epochs + rest.epochs) == strip(whole.epochs)
    assert [e["epoch"] for e in rest.epochs] == list(range(STOP_AFTER + 1, len(whole.epochs) + 1))
    assert result.best_epoch == max(1, result.best_epoch)


def _base(**training: Any) -> dict[str, Any]:
    spec = moons_spec(epochs=EPOCHS, batch_size=64, shuffle=True, **training)
    spec["dataset"]["split"] = {"val": 0.2}
    return spec


@pytest.mark.parametrize(
    "optimizer", [case[0] for case in OPTIMIZER_CASES], ids=[c[0]["type"] for c in OPTIMIZER_CASES]
)
def test_every_optimizer_resumes_exactly(optimizer: dict[str, Any], tmp_path: Path) -> None:
    spec = _base()
    spec["optimizer"] = copy.deepcopy(optimizer)
    spec["scheduler"] = None
    _resumed_equals_uninterrupted(spec, tmp_path)


@pytest.mark.parametrize(
    "optimizer",
    [
        {"type": "LBFGS", "lr": 0.5, "max_iter": 4, "history_size": 5},
        # k=4 slow steps straddle the checkpoint after epoch 3
        {"type": "Lookahead", "k": 4, "alpha": 0.6, "optimizer": {"type": "Adam", "lr": 0.05}},
        {"type": "Ranger", "lr": 0.05, "weight_decay": 0.1},
    ],
    ids=["LBFGS", "Lookahead", "Ranger"],
)
def test_lbfgs_and_the_wrapping_optimizers_resume_exactly(
    optimizer: dict[str, Any], tmp_path: Path
) -> None:
    spec = _base()
    spec["optimizer"] = optimizer
    spec["scheduler"] = None
    _resumed_equals_uninterrupted(spec, tmp_path)


@pytest.mark.parametrize(
    "scheduler", [case[0] for case in SCHEDULER_CASES], ids=[c[0]["type"] for c in SCHEDULER_CASES]
)
@pytest.mark.parametrize("interval", ["epoch", "batch"])
def test_every_schedule_resumes_exactly(
    scheduler: dict[str, Any], interval: str, tmp_path: Path
) -> None:
    spec = _base()
    spec["scheduler"] = copy.deepcopy(scheduler) | {"interval": interval}
    _resumed_equals_uninterrupted(spec, tmp_path)


def test_plateau_schedule_and_early_stopping_resume_exactly(tmp_path: Path) -> None:
    spec = _base(early_stopping={"patience": 4, "min_delta": 0.5})
    spec["scheduler"] = {"type": "ReduceLROnPlateau", "patience": 0, "factor": 0.5}
    _resumed_equals_uninterrupted(spec, tmp_path)


def test_dropout_and_augmentation_resume_exactly(tmp_path: Path) -> None:
    spec = {
        "dataset": {
            "type": "random",
            "n_samples": 64,
            "input_shape": [1, 6, 6],
            "num_classes": 3,
            "augmentation": [
                {"type": "RandomCrop", "padding": 1},
                {"type": "RandomHorizontalFlip"},
            ],
        },
        "model": {
            "layers": [
                {"type": "Flatten"},
                {"type": "Linear", "out_features": 16},
                {"type": "ReLU"},
                {"type": "Dropout", "p": 0.3},
                {"type": "Linear", "out_features": 3},
            ]
        },
        "loss": {"type": "CrossEntropyLoss"},
        "optimizer": {"type": "Adam", "lr": 0.01},
        "training": {"epochs": EPOCHS, "batch_size": 16, "seed": 3},
    }
    _resumed_equals_uninterrupted(spec, tmp_path)


def test_a_checkpoint_holds_no_code(tmp_path: Path) -> None:
    spec = TrainingSpec.model_validate(_base())
    path = tmp_path / "checkpoint.pt"
    fit(build_run(spec, TEST_DEVICE), ListSink(), PauseAt(2, path))
    # weights_only refuses anything but tensors and plain containers
    state = torch.load(path, weights_only=True)
    assert state["epoch"] == 2
    assert not list(tmp_path.glob(".checkpoint.pt.*")), "no temporary file is left behind"
