"""The linear set y = Xw + b + noise, and the weight-decay article's run on it."""

from typing import Any

import numpy as np
import pytest
import torch
from pydantic import TypeAdapter, ValidationError

from training.build.data import build_dataset
from training.loop import fit
from training.run import build_run
from training.sinks import ListSink
from training.spec import TrainingSpec
from training.spec.data import DatasetSpec

DATASET: TypeAdapter[Any] = TypeAdapter(DatasetSpec)


def test_linear_set_is_d2l_synthetic_data_from_its_random_state() -> None:
    spec = DATASET.validate_python(
        {"type": "linear", "n": 50, "d": 7, "w": 0.5, "b": -2.0, "noise": 0.1, "random_state": 4}
    )
    data = build_dataset(spec)
    rng = np.random.default_rng(4)
    x = rng.standard_normal((50, 7))
    y = x @ (0.5 * np.ones(7)) - 2.0 + 0.1 * rng.standard_normal(50)
    assert (data.x.shape, data.y.shape, data.target_kind.value) == ((50, 7), (50, 1), "regression")
    assert data.x.numpy() == pytest.approx(x, abs=1e-6)
    assert data.y.numpy()[:, 0] == pytest.approx(y, abs=1e-5)
    assert (spec.sample_shape(), spec.target_shape(), spec.size()) == ((7,), (1,), 50)
    noiseless = build_dataset(
        DATASET.validate_python({"type": "linear", "n": 5, "d": 3, "noise": 0})
    )
    assert noiseless.y[:, 0] == pytest.approx(noiseless.x.sum(dim=1) * 0.01 + 0.05, abs=1e-6)


def test_linear_defaults_are_the_articles_and_size_is_capped() -> None:
    spec = DATASET.validate_python({"type": "linear"})
    assert (spec.d, spec.w, spec.b, spec.noise) == (200, 0.01, 0.05, 0.01)
    with pytest.raises(ValidationError, match="the limit is"):
        DATASET.validate_python({"type": "linear", "n": 1_000_000, "d": 100})


def _weight_decay_run(weight_decay: float) -> tuple[float, float]:
    """d=200, 20 training and 100 test samples, batch 5, SGD lr 0.003, 100 epochs."""
    spec: dict[str, Any] = {
        "dataset": {"type": "linear", "n": 120, "d": 200, "split": {"test": 100}},
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
        "optimizer": {
            "type": "SGD",
            "lr": 0.003,
            "weight_decay": weight_decay,
            "no_decay_on_bias": True,
        },
        "training": {"epochs": 100, "batch_size": 5, "seed": 0},
    }
    run = build_run(TrainingSpec.model_validate(spec), torch.device("cpu"))
    sink = ListSink()
    result = fit(run, sink)
    assert sink.epochs[0]["iterations"] == 4
    weight = run.network[0].weight.detach()  # type: ignore[index]
    return float(weight.norm()), result.test_metrics["test_loss"]


def test_weight_decay_article_golden_run() -> None:
    plain_norm, plain_test = _weight_decay_run(0.0)
    decayed_norm, decayed_test = _weight_decay_run(3.0)
    assert plain_norm > 10  # the article: 12.6
    assert plain_test > 100
    assert decayed_norm < 1  # the article: 0.37
    assert decayed_test < plain_test / 50
