"""TrainingSpec validation: field paths and reasons, defaults, loss/data fit."""

from typing import Any

import pytest
from pydantic import ValidationError

from tests.helpers import MOONS_GOLDEN, moons_spec
from training.spec import TrainingSpec


def _errors(spec: dict[str, Any]) -> list[Any]:
    with pytest.raises(ValidationError) as caught:
        TrainingSpec.model_validate(spec)
    return list(caught.value.errors())


def test_golden_spec_is_valid_and_round_trips_through_json() -> None:
    spec = TrainingSpec.model_validate(MOONS_GOLDEN)
    again = TrainingSpec.model_validate(spec.model_dump(mode="json"))
    assert again == spec
    assert spec.training.batch_size is None


def test_unknown_optimizer_names_the_allowed_types() -> None:
    spec = moons_spec()
    spec["optimizer"] = {"type": "Adamm", "lr": 0.1}
    [error] = _errors(spec)
    assert error["loc"] == ("optimizer",)
    assert error["type"] == "union_tag_invalid"
    assert "'SGD'" in error["msg"]
    assert "'Adam'" in error["msg"]


@pytest.mark.parametrize("lr", [0, -0.1, "fast"])
def test_bad_lr_is_refused_at_its_path(lr: Any) -> None:
    spec = moons_spec()
    spec["optimizer"] = {"type": "Adam", "lr": lr}
    [error] = _errors(spec)
    assert error["loc"] == ("optimizer", "Adam", "lr")


def test_misspelt_field_is_refused() -> None:
    spec = moons_spec(learning_rate=0.1)
    [error] = _errors(spec)
    assert error["loc"] == ("training", "learning_rate")
    assert error["type"] == "extra_forbidden"


def test_loss_that_does_not_fit_the_targets_is_refused() -> None:
    spec = moons_spec()
    spec["loss"] = {"type": "MSELoss"}
    [error] = _errors(spec)
    assert "MSELoss needs regression targets" in error["msg"]
    assert "class_index" in error["msg"]


def test_repeated_layer_names_are_refused() -> None:
    spec = moons_spec()
    spec["model"]["layers"][0]["name"] = "hidden"
    spec["model"]["layers"][2]["name"] = "hidden"
    [error] = _errors(spec)
    assert "repeated: hidden" in error["msg"]


@pytest.mark.parametrize("device", ["auto", "cpu", "cuda", "cuda:1"])
def test_devices_accepted(device: str) -> None:
    assert TrainingSpec.model_validate(moons_spec(device=device)).training.device == device


def test_device_typo_refused() -> None:
    [error] = _errors(moons_spec(device="gpu"))
    assert error["loc"] == ("training", "device")
