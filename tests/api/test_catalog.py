"""The catalogue and the lr preview over HTTP."""

from typing import Any

import pytest
import torch
from fastapi.testclient import TestClient

from tests.helpers import moons_spec
from training.catalog import KINDS, spec_classes
from training.loop import fit
from training.run import build_run
from training.sinks import ListSink
from training.spec import TrainingSpec

Headers = dict[str, str]


def test_catalog_lists_every_spec_class_with_parameters(client: TestClient, alice: Headers) -> None:
    body = client.get("/api/v1/catalog", headers=alice).json()
    assert set(body) == set(KINDS)
    for kind, union in KINDS.items():
        assert [entry["type"] for entry in body[kind]] == [
            cls.model_fields["type"].default for cls in spec_classes(union)
        ]
    adam = next(entry for entry in body["optimizers"] if entry["type"] == "Adam")
    assert adam["description"] == "Implements Adam algorithm."
    lr = next(p for p in adam["parameters"] if p["name"] == "lr")
    assert (lr["default"], lr["required"], lr["json_schema"]["exclusiveMinimum"]) == (
        0.001,
        False,
        0,
    )
    assert len(body["layers"]) >= 30
    assert client.get("/api/v1/catalog").status_code == 401


def test_catalog_of_one_kind(client: TestClient, alice: Headers) -> None:
    losses = client.get("/api/v1/catalog/losses", headers=alice).json()
    assert "GaussianNLLLoss" in {entry["type"] for entry in losses}
    assert client.get("/api/v1/catalog/widgets", headers=alice).status_code == 422


def _preview(client: TestClient, headers: Headers, **body: Any) -> Any:
    return client.post("/api/v1/schedules/preview", json=body, headers=headers)


def test_preview_equals_the_lr_a_job_records(client: TestClient, alice: Headers) -> None:
    optimizer = {"type": "SGD", "lr": 0.1, "momentum": 0.9}
    scheduler = {"type": "OneCycleLR", "max_lr": 0.5, "interval": "batch"}
    response = _preview(
        client, alice, optimizer=optimizer, scheduler=scheduler, epochs=6, steps_per_epoch=7
    )
    assert response.status_code == 200, response.text
    preview = response.json()
    spec = moons_spec(epochs=6, batch_size=32)
    spec["optimizer"], spec["scheduler"] = optimizer, scheduler
    sink = ListSink()
    fit(build_run(TrainingSpec.model_validate(spec), torch.device("cpu")), sink)
    assert preview["lr_per_epoch"] == pytest.approx([e["lr/0"] for e in sink.epochs], abs=1e-12)
    assert len(preview["lr_per_step"]) == 42


def test_preview_refusals_name_the_problem(client: TestClient, alice: Headers) -> None:
    optimizer = {"type": "Adam", "lr": 0.1}
    bad_milestones = {"type": "MultiStepLR", "milestones": [5, 3]}
    response = _preview(client, alice, optimizer=optimizer, scheduler=bad_milestones, epochs=9)
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "scheduler.milestones"
    step = {"type": "StepLR", "step_size": 2, "interval": "batch"}
    huge = _preview(
        client, alice, optimizer=optimizer, scheduler=step, epochs=100_000, steps_per_epoch=100
    )
    assert huge.status_code == 422
    assert huge.json()["error"] == "RequestRejected"
    evil = {"type": "LambdaLR", "lr_lambda": "__import__('os').system('true')"}
    refused = _preview(client, alice, optimizer=optimizer, scheduler=evil, epochs=3)
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["field"] == "scheduler.lr_lambda"


@pytest.mark.parametrize("layer", ["", "a.b", "x" * 65])
def test_a_parameter_group_naming_no_possible_layer_is_a_422(
    client: TestClient, alice: Headers, layer: str
) -> None:
    body = {
        "epochs": 3,
        "optimizer": {"type": "SGD", "lr": 0.1, "param_groups": [{"layers": [layer], "lr": 0.5}]},
        "scheduler": {"type": "StepLR", "step_size": 1},
    }
    response = client.post("/api/v1/schedules/preview", json=body, headers=alice)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["field"] == "optimizer.param_groups.0.layers.0"
