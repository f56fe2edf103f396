"""Spec options on an older torch: defaulted ones are left out of the call, set ones refused."""

from collections.abc import Callable
from typing import Any

import pytest
import torch
from fastapi.testclient import TestClient

from tests.helpers import moons_spec
from training import torch_options
from training.build.networks import LayerShapeError
from training.loop import fit
from training.run import build_run
from training.sinks import ListSink
from training.spec import TrainingSpec
from training.torch_options import unsupported_options

# gradq's own types: no torch object carries their options
GRADQ_TYPES = {"Reshape", "Lookahead", "Ranger"}
GRADQ_SCHEDULES = {"PiecewiseConstantDecay", "ExponentialDecay", "InverseTimeDecay"}


def _install_older_torch(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A torch whose BatchNorm has no `bias` keyword and whose Adam has no `amsgrad`; returns
    the names of the torch objects asked about since."""
    real = torch_options.accepted_keywords
    missing = {"BatchNorm1d": {"bias"}, "BatchNorm2d": {"bias"}, "Adam": {"amsgrad"}}
    asked: list[str] = []

    def older(target: Callable[..., Any]) -> frozenset[str] | None:
        name = getattr(target, "__name__", "")
        asked.append(name)
        accepted = real(target)
        return None if accepted is None else accepted - missing.get(name, set())

    monkeypatch.setattr(torch_options, "accepted_keywords", older)
    return asked


@pytest.fixture
def older_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    _install_older_torch(monkeypatch)


def _batch_norm_spec(**batch_norm: Any) -> dict[str, Any]:
    spec = moons_spec(epochs=3, batch_size=50)
    spec["model"]["layers"].insert(1, {"type": "BatchNorm1d", **batch_norm})
    return spec


def _losses(spec: dict[str, Any]) -> list[float]:
    sink = ListSink()
    fit(build_run(TrainingSpec.model_validate(spec), torch.device("cpu")), sink)
    return [epoch["train_loss"] for epoch in sink.epochs]


def test_a_defaulted_option_the_torch_lacks_is_left_out_and_trains_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    expected = _losses(_batch_norm_spec())
    asked = _install_older_torch(monkeypatch)
    assert _losses(_batch_norm_spec()) == expected
    assert "BatchNorm1d" in asked


@pytest.mark.usefixtures("older_torch")
def test_a_set_option_the_torch_lacks_refuses_to_build() -> None:
    spec = TrainingSpec.model_validate(_batch_norm_spec(bias=False))
    with pytest.raises(LayerShapeError, match=r"layer 1 .*BatchNorm1d\.bias needs a newer torch"):
        build_run(spec, torch.device("cpu"))


@pytest.mark.usefixtures("older_torch")
def test_set_options_are_found_where_they_sit_in_the_spec() -> None:
    spec = _batch_norm_spec(bias=False)
    spec["optimizer"] = {
        "type": "Lookahead",
        "optimizer": {"type": "Adam", "lr": 0.01, "amsgrad": True},
    }
    found = unsupported_options(TrainingSpec.model_validate(spec))
    assert [loc for loc, _ in found] == [
        ("model", "layers", 1, "bias"),
        ("optimizer", "optimizer", "amsgrad"),
    ]
    assert found[0][1].startswith("BatchNorm1d.bias needs a newer torch than this server's")


@pytest.mark.usefixtures("older_torch")
def test_submission_takes_the_default_and_refuses_the_set_option_with_its_field(
    client: TestClient, alice: dict[str, str]
) -> None:
    accepted = client.post("/api/v1/jobs", json={"spec": _batch_norm_spec()}, headers=alice)
    assert accepted.status_code == 201, accepted.text

    refused = client.post(
        "/api/v1/jobs", json={"spec": _batch_norm_spec(bias=False)}, headers=alice
    )
    assert refused.status_code == 422, refused.text
    [error] = refused.json()["detail"]
    assert error["field"] == "spec.model.layers.1.bias"
    assert "needs a newer torch" in error["msg"]


def test_every_torch_backed_type_resolves_to_its_torch_object() -> None:
    unresolved = {
        spec_class.model_fields["type"].default
        for spec_class in torch_options._TORCH_BACKED
        if torch_options._torch_object(spec_class.model_construct()) is None
    }
    assert unresolved == GRADQ_TYPES | GRADQ_SCHEDULES


def test_this_torch_takes_every_catalogue_option() -> None:
    spec = _batch_norm_spec(bias=False)
    spec["optimizer"] = {"type": "Adam", "amsgrad": True}
    assert unsupported_options(TrainingSpec.model_validate(spec)) == []


def test_keywords_for_an_older_signature_leave_out_only_the_defaulted_extra() -> None:
    def old_batch_norm(
        num_features: int,
        eps: float = 1e-5,
        momentum: float = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
    ) -> dict[str, Any]:
        return {
            "num_features": num_features,
            "eps": eps,
            "momentum": momentum,
            "affine": affine,
            "track_running_stats": track_running_stats,
        }

    spec = TrainingSpec.model_validate(_batch_norm_spec(momentum=0.2)).model.layers[1]
    keywords = spec.model_dump(exclude={"type", "name"})
    assert "bias" in keywords
    kept = torch_options.torch_keywords(spec, old_batch_norm, keywords)
    assert kept == {k: v for k, v in keywords.items() if k != "bias"}
    assert old_batch_norm(4, **kept)["momentum"] == 0.2
