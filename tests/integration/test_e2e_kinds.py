"""One job per kind of the catalogue through HTTP, queue, worker and database.

Each job's per-epoch numbers read back over HTTP must equal the same spec run in this process
(whose loop the unit tests hold to hand-written PyTorch loops).
"""

from typing import Any

import pytest

from tests.helpers import TEST_DEVICE, moons_spec
from tests.integration.stack import Stack, all_metrics, new_user, wait_for
from training.loop import fit
from training.run import build_run
from training.sinks import ListSink
from training.spec import TrainingSpec

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _cnn() -> dict[str, Any]:
    spec = moons_spec(epochs=3, batch_size=16)
    spec["dataset"] = {
        "type": "random",
        "n_samples": 64,
        "input_shape": [1, 8, 8],
        "num_classes": 3,
    }
    spec["model"] = {
        "layers": [
            {"type": "Conv2d", "out_channels": 4, "kernel_size": 3, "name": "conv"},
            {"type": "BatchNorm2d"},
            {"type": "ReLU"},
            {"type": "MaxPool2d", "kernel_size": 2},
            {"type": "Dropout", "p": 0.2},
            {"type": "Flatten"},
            {"type": "Linear", "out_features": 3, "name": "head"},
        ],
        "init": [{"layer_types": ["Conv2d"], "weight": {"type": "kaiming_normal_"}}],
    }
    return spec


def _multilabel_bce() -> dict[str, Any]:
    spec = moons_spec(epochs=4, batch_size=10)
    spec["dataset"] = {
        "type": "random",
        "n_samples": 40,
        "input_shape": [6],
        "num_classes": 3,
        "target_kind": "multi_label",
    }
    spec["model"] = {"layers": [{"type": "Linear", "out_features": 3}]}
    spec["loss"] = {"type": "BCEWithLogitsLoss", "pos_weight": [1.0, 2.0, 0.5]}
    return spec


def _ranger_with_groups() -> dict[str, Any]:
    spec = moons_spec(epochs=8)
    spec["model"]["layers"][0]["name"] = "hidden"
    spec["optimizer"] = {
        "type": "Ranger",
        "lr": 0.01,
        "weight_decay": 0.01,
        "no_decay_on_bias": True,
        "param_groups": [{"layers": ["hidden"], "lr": 0.001}],
    }
    spec["scheduler"] = {"type": "OneCycleLR", "max_lr": 0.05}
    spec["regularization"] = {"l2": 0.001, "grad_clip": {"type": "norm", "max_norm": 1.0}}
    return spec


def _lbfgs_plateau() -> dict[str, Any]:
    spec = moons_spec(epochs=12)
    spec["optimizer"] = {"type": "LBFGS", "lr": 0.5, "max_iter": 5}
    spec["scheduler"] = {"type": "ReduceLROnPlateau", "patience": 1, "factor": 0.5}
    spec["training"]["early_stopping"] = {"patience": 4, "min_delta": 1e-4}
    return spec


KIND_SPECS = {
    "layers-and-init": _cnn,
    "loss": _multilabel_bce,
    "optimizer": _ranger_with_groups,
    "schedule-and-early-stop": _lbfgs_plateau,
}


@pytest.mark.parametrize("make_spec", KIND_SPECS.values(), ids=KIND_SPECS.keys())
def test_worker_numbers_equal_the_in_process_loop(stack: Stack, make_spec: Any) -> None:
    spec = make_spec()
    with stack.client(new_user(stack, f"kind-{make_spec.__name__.strip('_')}")) as client:
        created = client.post("/api/v1/jobs", json={"spec": spec})
        assert created.status_code == 201, created.text
        job = wait_for(client, created.json()["id"])
        assert job["status"] == "succeeded", (job, stack.log_tail())
        epochs = all_metrics(client, job["id"])
        events = client.get(f"/api/v1/jobs/{job['id']}/events").json()

    sink = ListSink()
    result = fit(build_run(TrainingSpec.model_validate(spec), TEST_DEVICE), sink)
    assert job["stop_reason"] == result.stop_reason
    assert len(epochs) == len(sink.epochs) == result.epochs_completed
    for served, local in zip(epochs, sink.epochs, strict=True):
        assert served["train_loss"] == pytest.approx(local["train_loss"], abs=1e-6)
        lrs = [local[key] for key in sorted(k for k in local if k.startswith("lr/"))]
        assert served["lr"] == pytest.approx(lrs, abs=1e-12)
    kinds = [event["kind"] for event in events]
    assert kinds[:2] == ["queued", "started"]
    assert kinds[-1] == "succeeded"
    assert kinds[2:-1] == [event["kind"] for event in sink.events]
