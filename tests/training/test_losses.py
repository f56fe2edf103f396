"""Every loss through fit() against a hand-written torch loop (atol 1e-6); loss/data checks."""

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import torch
from pydantic import TypeAdapter, ValidationError
from sklearn.datasets import (
    make_blobs,
    make_circles,
    make_classification,
    make_moons,
    make_regression,
)
from torch import nn
from torch.nn import functional as F

from tests.helpers import TEST_DEVICE
from training.build.data import build_dataset
from training.build.losses import LOSSES
from training.loop import fit
from training.run import build_run
from training.sinks import ListSink
from training.spec import TrainingSpec
from training.spec.data import DatasetSpec, RandomSpec
from training.spec.losses import (
    BCELossSpec,
    BCEWithLogitsLossSpec,
    CosineEmbeddingLossSpec,
    CrossEntropyLossSpec,
    KLDivLossSpec,
    LossBase,
    MSELossSpec,
    MultiLabelSoftMarginLossSpec,
    NLLLossSpec,
    last_layer_warnings,
    loss_dataset_problem,
)

ATOL = 1e-6
EPOCHS = 4
HIDDEN = 5
DATASET: TypeAdapter[Any] = TypeAdapter(DatasetSpec)
LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
Data = Callable[[], tuple[torch.Tensor, torch.Tensor]]


def _f32(array: Any) -> torch.Tensor:
    return torch.tensor(array, dtype=torch.float32)


def _weight(values: list[float]) -> torch.Tensor:
    """A class weight or pos_weight of a hand-written loss, on the device the loop trains on."""
    return torch.tensor(values, device=TEST_DEVICE)


def _moons() -> tuple[torch.Tensor, torch.Tensor]:
    x, y = make_moons(n_samples=60, noise=0.2, random_state=0)
    return _f32(x), torch.tensor(y, dtype=torch.int64)


def _regression() -> tuple[torch.Tensor, torch.Tensor]:
    x, y = make_regression(n_samples=40, n_features=3, n_targets=2, noise=0.5, random_state=0)
    return _f32(x), _f32(y)


def _circles_binary() -> tuple[torch.Tensor, torch.Tensor]:
    x, y = make_circles(n_samples=50, noise=0.1, random_state=1)
    return _f32(x), _f32(y).reshape(-1, 1)


def _blobs_one_hot() -> tuple[torch.Tensor, torch.Tensor]:
    x, y = make_blobs(n_samples=45, centers=3, random_state=2)
    return _f32(x), F.one_hot(torch.tensor(y), 3).float()


def _classification_sign() -> tuple[torch.Tensor, torch.Tensor]:
    x, y = make_classification(n_samples=50, n_features=5, random_state=3)
    return _f32(x), _f32(2 * y - 1).reshape(-1, 1)


MOONS = {"type": "moons", "n_samples": 60, "noise": 0.2}
REGRESSION = {"type": "regression", "n_samples": 40, "n_features": 3, "n_targets": 2, "noise": 0.5}
CIRCLES_BINARY = {
    "type": "circles",
    "n_samples": 50,
    "noise": 0.1,
    "random_state": 1,
    "target_kind": "binary",
}
BLOBS_ONE_HOT = {
    "type": "blobs",
    "n_samples": 45,
    "centers": 3,
    "random_state": 2,
    "target_kind": "probabilities",
}
CLASSIFICATION_SIGN = {
    "type": "classification",
    "n_samples": 50,
    "n_features": 5,
    "random_state": 3,
    "target_kind": "sign",
}


def _random(**fields: Any) -> dict[str, Any]:
    return {"type": "random", "n_samples": 48, "random_state": 4} | fields


def _built(dataset: dict[str, Any]) -> Data:
    """Random sets are made by gradq itself; test_data_targets checks their recipe."""

    def data() -> tuple[torch.Tensor, torch.Tensor]:
        built = build_dataset(RandomSpec.model_validate(dataset))
        return built.x, built.y

    return data


@dataclass
class Case:
    dataset: dict[str, Any]
    data: Data
    out: int
    loss: dict[str, Any]
    hand_loss: LossFn
    last: str | None = None
    batch_size: int | None = None
    # a network other than Linear(5) -> Tanh -> Linear(out) [-> last]: its spec layers and modules
    layers: list[dict[str, Any]] = field(default_factory=list)
    modules: Callable[[], list[nn.Module]] | None = None


def _halves(out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    half = out.shape[1] // 2
    return out[:, :half], out[:, half:]


SIGN_ONE = _random(input_shape=[4], target_kind="sign")
SIGN_THREE = _random(input_shape=[4], target_kind="sign", target_shape=[3])
PROBS = _random(input_shape=[6], num_classes=4, target_kind="probabilities")
LOG_PROBS = _random(input_shape=[6], num_classes=4, target_kind="log_probabilities")
MULTI = _random(input_shape=[5], num_classes=3, target_kind="multi_label")
INDICES = _random(input_shape=[5], num_classes=4, target_kind="multi_label_indices")
COUNTS = _random(input_shape=[3], target_kind="count", target_shape=[2])
PIXELS = _random(input_shape=[2, 4, 5], num_classes=3, target_shape=[4, 5])
W3 = [1.0, 2.0, 0.5]

CASES: dict[str, Case] = {
    "L1Loss-mean": Case(REGRESSION, _regression, 2, {"type": "L1Loss"}, F.l1_loss),
    "L1Loss-sum": Case(
        REGRESSION,
        _regression,
        2,
        {"type": "L1Loss", "reduction": "sum"},
        lambda o, t: F.l1_loss(o, t, reduction="sum"),
    ),
    "MSELoss-none": Case(
        REGRESSION,
        _regression,
        2,
        {"type": "MSELoss", "reduction": "none"},
        lambda o, t: F.mse_loss(o, t, reduction="none").mean(),
    ),
    "SmoothL1Loss": Case(
        REGRESSION,
        _regression,
        2,
        {"type": "SmoothL1Loss", "beta": 0.5},
        lambda o, t: F.smooth_l1_loss(o, t, beta=0.5),
    ),
    "HuberLoss-sum": Case(
        REGRESSION,
        _regression,
        2,
        {"type": "HuberLoss", "delta": 2.0, "reduction": "sum"},
        lambda o, t: F.huber_loss(o, t, reduction="sum", delta=2.0),
    ),
    "CrossEntropyLoss-index": Case(
        MOONS,
        _moons,
        2,
        {"type": "CrossEntropyLoss", "weight": [1.0, 2.0], "label_smoothing": 0.1},
        lambda o, t: F.cross_entropy(o, t, weight=_weight([1.0, 2.0]), label_smoothing=0.1),
    ),
    "CrossEntropyLoss-one-hot": Case(
        BLOBS_ONE_HOT,
        _blobs_one_hot,
        3,
        {"type": "CrossEntropyLoss", "weight": W3, "reduction": "sum"},
        lambda o, t: F.cross_entropy(o, t, weight=_weight(W3), reduction="sum"),
    ),
    "CrossEntropyLoss-soft": Case(
        PROBS,
        _built(PROBS),
        4,
        {"type": "CrossEntropyLoss", "label_smoothing": 0.2},
        lambda o, t: F.cross_entropy(o, t, label_smoothing=0.2),
    ),
    "NLLLoss": Case(
        MOONS,
        _moons,
        2,
        {"type": "NLLLoss", "weight": [2.0, 1.0], "reduction": "sum"},
        lambda o, t: F.nll_loss(o, t, weight=_weight([2.0, 1.0]), reduction="sum"),
        last="LogSoftmax",
    ),
    "NLLLoss-2d": Case(
        PIXELS,
        _built(PIXELS),
        3,
        {"type": "NLLLoss"},
        F.nll_loss,
        layers=[{"type": "Conv2d", "out_channels": 3, "kernel_size": 1}, {"type": "LogSoftmax"}],
        modules=lambda: [nn.Conv2d(2, 3, kernel_size=1), nn.LogSoftmax(dim=1)],
    ),
    "KLDivLoss-batchmean": Case(
        PROBS,
        _built(PROBS),
        4,
        {"type": "KLDivLoss", "reduction": "batchmean"},
        lambda o, t: F.kl_div(o, t, reduction="batchmean"),
        last="LogSoftmax",
    ),
    "KLDivLoss-log-target": Case(
        LOG_PROBS,
        _built(LOG_PROBS),
        4,
        {"type": "KLDivLoss", "reduction": "sum", "log_target": True},
        lambda o, t: F.kl_div(o, t, reduction="sum", log_target=True),
        last="LogSoftmax",
    ),
    "BCELoss-binary": Case(
        CIRCLES_BINARY,
        _circles_binary,
        1,
        {"type": "BCELoss", "weight": [3.0]},
        lambda o, t: F.binary_cross_entropy(o, t, weight=_weight([3.0])),
        last="Sigmoid",
    ),
    "BCELoss-multi-label": Case(
        MULTI,
        _built(MULTI),
        3,
        {"type": "BCELoss", "weight": W3, "reduction": "none"},
        lambda o, t: F.binary_cross_entropy(o, t, _weight(W3), reduction="none").mean(),
        last="Sigmoid",
    ),
    "BCEWithLogitsLoss-binary": Case(
        CIRCLES_BINARY,
        _circles_binary,
        1,
        {"type": "BCEWithLogitsLoss", "pos_weight": [2.0]},
        lambda o, t: F.binary_cross_entropy_with_logits(o, t, pos_weight=_weight([2.0])),
        batch_size=16,
    ),
    "BCEWithLogitsLoss-multi-label": Case(
        MULTI,
        _built(MULTI),
        3,
        {"type": "BCEWithLogitsLoss", "weight": W3, "pos_weight": [0.5, 1.0, 4.0]},
        lambda o, t: F.binary_cross_entropy_with_logits(
            o, t, _weight(W3), pos_weight=_weight([0.5, 1.0, 4.0])
        ),
    ),
    "MarginRankingLoss": Case(
        SIGN_ONE,
        _built(SIGN_ONE),
        2,
        {"type": "MarginRankingLoss", "margin": 0.5},
        lambda o, t: F.margin_ranking_loss(o[:, 0], o[:, 1], t.reshape(-1), margin=0.5),
        batch_size=10,
    ),
    "MarginRankingLoss-none": Case(
        SIGN_ONE,
        _built(SIGN_ONE),
        2,
        {"type": "MarginRankingLoss", "reduction": "none"},
        lambda o, t: F.margin_ranking_loss(
            o[:, 0], o[:, 1], t.reshape(-1), reduction="none"
        ).mean(),
    ),
    "MultiLabelMarginLoss": Case(
        INDICES, _built(INDICES), 4, {"type": "MultiLabelMarginLoss"}, F.multilabel_margin_loss
    ),
    "MultiLabelSoftMarginLoss": Case(
        MULTI,
        _built(MULTI),
        3,
        {"type": "MultiLabelSoftMarginLoss", "weight": W3, "reduction": "sum"},
        lambda o, t: F.multilabel_soft_margin_loss(o, t, _weight(W3), reduction="sum"),
    ),
    "SoftMarginLoss": Case(
        CLASSIFICATION_SIGN, _classification_sign, 1, {"type": "SoftMarginLoss"}, F.soft_margin_loss
    ),
    "HingeEmbeddingLoss": Case(
        SIGN_THREE,
        _built(SIGN_THREE),
        3,
        {"type": "HingeEmbeddingLoss", "margin": 0.5, "reduction": "sum"},
        lambda o, t: F.hinge_embedding_loss(o, t, margin=0.5, reduction="sum"),
    ),
    "CosineEmbeddingLoss": Case(
        SIGN_ONE,
        _built(SIGN_ONE),
        4,
        {"type": "CosineEmbeddingLoss", "margin": 0.2},
        lambda o, t: F.cosine_embedding_loss(*_halves(o), t.reshape(-1), margin=0.2),
        batch_size=20,
    ),
    "PoissonNLLLoss": Case(
        COUNTS,
        _built(COUNTS),
        2,
        {"type": "PoissonNLLLoss", "full": True},
        lambda o, t: F.poisson_nll_loss(o, t, log_input=True, full=True),
    ),
    "PoissonNLLLoss-rates": Case(
        COUNTS,
        _built(COUNTS),
        2,
        {"type": "PoissonNLLLoss", "log_input": False, "eps": 1e-4},
        lambda o, t: F.poisson_nll_loss(o, t, log_input=False, eps=1e-4),
        last="Sigmoid",
    ),
    "GaussianNLLLoss": Case(
        REGRESSION,
        _regression,
        4,
        {"type": "GaussianNLLLoss", "full": True},
        lambda o, t: F.gaussian_nll_loss(_halves(o)[0], t, F.softplus(_halves(o)[1]), full=True),
        batch_size=16,
    ),
}


def _spec(case: Case, seed: int) -> dict[str, Any]:
    layers: list[dict[str, Any]] = case.layers or [
        {"type": "Linear", "out_features": HIDDEN},
        {"type": "Tanh"},
        {"type": "Linear", "out_features": case.out},
    ]
    if case.last:
        layers.append({"type": case.last})
    return {
        "dataset": case.dataset,
        "model": {"layers": copy.deepcopy(layers)},
        "loss": case.loss,
        "optimizer": {"type": "Adam", "lr": 0.01},
        "training": {"epochs": EPOCHS, "batch_size": case.batch_size, "seed": seed},
    }


def _fit(spec: dict[str, Any]) -> list[dict[str, float]]:
    sink = ListSink()
    fit(build_run(TrainingSpec.model_validate(spec), TEST_DEVICE), sink)
    return sink.epochs


LAST_LAYERS: dict[str, Callable[[], nn.Module]] = {
    "Sigmoid": nn.Sigmoid,
    "LogSoftmax": lambda: nn.LogSoftmax(dim=1),
}


def _network(case: Case, in_features: int) -> nn.Sequential:
    if case.modules is not None:
        return nn.Sequential(*case.modules())
    modules = [nn.Linear(in_features, HIDDEN), nn.Tanh(), nn.Linear(HIDDEN, case.out)]
    if case.last:
        modules.append(LAST_LAYERS[case.last]())
    return nn.Sequential(*modules)


def _batches(n: int, batch_size: int | None, generator: torch.Generator) -> list[torch.Tensor]:
    """Drawn on the CPU and moved to the device, as gradq's loop does."""
    if batch_size is None:
        return [torch.arange(n, device=TEST_DEVICE)]
    return list(torch.randperm(n, generator=generator).to(TEST_DEVICE).split(batch_size))


def _hand_written(case: Case, seed: int) -> list[float]:
    x, y = case.data()
    x, y = x.to(TEST_DEVICE), y.to(TEST_DEVICE)
    torch.manual_seed(seed)
    net = _network(case, x.shape[-1]).to(TEST_DEVICE)
    optimizer = torch.optim.Adam(net.parameters(), lr=0.01)
    generator = torch.Generator().manual_seed(seed)
    losses = []
    for _ in range(EPOCHS):
        total = 0.0
        for index in _batches(len(x), case.batch_size, generator):
            optimizer.zero_grad()
            loss = case.hand_loss(net(x[index]), y[index])
            loss.backward()
            optimizer.step()
            total += loss.item() * len(index)
        losses.append(total / len(x))
    return losses


@pytest.mark.parametrize("name", CASES)
def test_loss_through_fit_equals_hand_written_loop(name: str) -> None:
    case = CASES[name]
    epochs = _fit(_spec(case, seed=5))
    expected = _hand_written(case, seed=5)
    assert [e["train_loss"] for e in epochs] == pytest.approx(expected, abs=ATOL)
    assert expected[0] != pytest.approx(expected[-1], abs=1e-4)


def test_every_loss_has_a_reference_case() -> None:
    assert {case.loss["type"] for case in CASES.values()} == set(LOSSES.names())


def test_one_hot_cross_entropy_equals_class_index_cross_entropy() -> None:
    spec = _spec(CASES["CrossEntropyLoss-one-hot"], seed=1)
    spec["loss"] = {"type": "CrossEntropyLoss"}
    one_hot = _fit(spec)
    spec["dataset"] = BLOBS_ONE_HOT | {"target_kind": "class_index"}
    index = _fit(spec)
    assert [e["train_loss"] for e in one_hot] == pytest.approx(
        [e["train_loss"] for e in index], abs=ATOL
    )
    assert [e["train_accuracy"] for e in one_hot] == [e["train_accuracy"] for e in index]


def _problem(dataset: dict[str, Any], loss: dict[str, Any], out: int = 2) -> str:
    spec = _spec(Case(dataset, _moons, out, loss, F.l1_loss), seed=0)
    with pytest.raises(ValidationError) as caught:
        TrainingSpec.model_validate(spec)
    [error] = caught.value.errors()
    return str(error["msg"])


def test_mismatch_names_the_losses_that_fit_class_indices() -> None:
    message = _problem(MOONS, {"type": "BCEWithLogitsLoss"})
    assert "BCEWithLogitsLoss needs multi_label targets or binary targets" in message
    assert "'moons' provides class_index targets" in message
    assert "losses that fit class_index targets: CrossEntropyLoss, NLLLoss (after LogSoftmax)" in (
        message
    )


def test_mismatch_names_the_losses_that_fit_binary_targets() -> None:
    message = _problem(CIRCLES_BINARY, {"type": "MSELoss"}, out=1)
    assert "binary, single-label classification" in message
    assert message.endswith("BCELoss (after Sigmoid), BCEWithLogitsLoss")


def test_mismatch_names_the_losses_that_fit_regression_targets() -> None:
    message = _problem(REGRESSION, {"type": "CrossEntropyLoss"})
    for name in ("L1Loss", "MSELoss", "SmoothL1Loss", "HuberLoss", "GaussianNLLLoss"):
        assert name in message
    assert "PoissonNLLLoss" not in message


def test_kl_div_needs_targets_that_match_log_target() -> None:
    message = _problem(PROBS, {"type": "KLDivLoss", "log_target": True}, out=4)
    assert "KLDivLoss needs log_probabilities targets" in message
    assert "KLDivLoss (after LogSoftmax)" in message


def test_sign_targets_fit_the_margin_losses() -> None:
    message = _problem(SIGN_ONE, {"type": "BCELoss"})
    assert message.endswith(
        "MarginRankingLoss, SoftMarginLoss, HingeEmbeddingLoss, CosineEmbeddingLoss"
    )


@pytest.mark.parametrize(
    ("loss", "last", "expected"),
    [
        (NLLLossSpec(), "Linear", ["NLLLoss expects log-probabilities: end the model with Log"]),
        (NLLLossSpec(), "LogSoftmax", []),
        (KLDivLossSpec(), None, ["KLDivLoss expects log-probabilities"]),
        (KLDivLossSpec(), "LogSoftmax", []),
        (BCELossSpec(), "Tanh", ["BCELoss expects probabilities: end the model with Sigmoid"]),
        (BCELossSpec(), "Sigmoid", []),
        (CrossEntropyLossSpec(), "Softmax", ["the Softmax last layer applies it twice"]),
        (CrossEntropyLossSpec(), "LogSoftmax", ["the LogSoftmax last layer applies it twice"]),
        (CrossEntropyLossSpec(), "Linear", []),
        (BCEWithLogitsLossSpec(), "Sigmoid", ["applies the sigmoid itself"]),
        (BCEWithLogitsLossSpec(), "Linear", []),
        (MultiLabelSoftMarginLossSpec(), "Sigmoid", ["applies the sigmoid itself"]),
        (MSELossSpec(), "Sigmoid", []),
    ],
)
def test_last_layer_warnings(loss: LossBase, last: str | None, expected: list[str]) -> None:
    warnings = last_layer_warnings(loss, last)
    assert len(warnings) == len(expected)
    for warning, fragment in zip(warnings, expected, strict=True):
        assert fragment in warning


@pytest.mark.parametrize(
    ("loss", "dataset", "fragment"),
    [
        (CrossEntropyLossSpec(weight=[1.0, 2.0]), BLOBS_ONE_HOT, "weight has 2 values"),
        (CrossEntropyLossSpec(weight=W3), BLOBS_ONE_HOT, None),
        (BCEWithLogitsLossSpec(pos_weight=[1.0, 2.0]), MULTI, "pos_weight has 2 values"),
        (BCEWithLogitsLossSpec(pos_weight=[2.0]), MULTI, None),
        (CosineEmbeddingLossSpec(), SIGN_THREE, "one +1/-1 target per sample"),
        (CosineEmbeddingLossSpec(), SIGN_ONE, None),
    ],
)
def test_loss_dataset_problem(
    loss: LossBase, dataset: dict[str, Any], fragment: str | None
) -> None:
    problem = loss_dataset_problem(loss, DATASET.validate_python(dataset))
    if fragment is None:
        assert problem is None
    else:
        assert problem is not None
        assert fragment in problem


def test_adapters_refuse_outputs_they_cannot_split() -> None:
    spec = _spec(CASES["CosineEmbeddingLoss"], seed=0)
    spec["model"]["layers"][-1]["out_features"] = 3
    with pytest.raises(ValueError, match=r"shape \(N, 2k\)"):
        _fit(spec)
