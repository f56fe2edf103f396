"""Weight initialisation: specs as torch.nn.init defines them; rules vs hand-written nn.init."""

import inspect
import typing
from typing import Any

import pytest
import torch
from pydantic import BaseModel, TypeAdapter, ValidationError
from sklearn.datasets import make_moons
from torch import nn

from training.build.init import INITIALIZERS
from training.build.networks import build_network
from training.loop import fit
from training.run import build_run
from training.sinks import ListSink
from training.spec import TrainingSpec
from training.spec.init import InitializerSpec, Nonlinearity
from training.spec.model import ModelSpec

INITIALIZER_CLASSES: list[type[BaseModel]] = list(
    typing.get_args(typing.get_args(InitializerSpec)[0])
)


def test_union_and_registry_list_the_same_initializers() -> None:
    assert set(INITIALIZER_CLASSES) == set(INITIALIZERS.spec_classes())
    assert set(INITIALIZERS.names()) == {
        "normal_",
        "uniform_",
        "constant_",
        "zeros_",
        "ones_",
        "xavier_uniform_",
        "xavier_normal_",
        "kaiming_uniform_",
        "kaiming_normal_",
        "orthogonal_",
        "trunc_normal_",
    }


@pytest.mark.parametrize("spec_class", INITIALIZER_CLASSES, ids=lambda c: c.__name__)
def test_initializer_fields_and_defaults_equal_torch(spec_class: type[BaseModel]) -> None:
    name = spec_class.model_fields["type"].default
    parameters = inspect.signature(getattr(nn.init, name)).parameters
    wanted = set(parameters) - {"tensor", "generator"}
    assert set(spec_class.model_fields) - {"type"} == wanted
    for field_name, field in spec_class.model_fields.items():
        if field_name == "type":
            continue
        default = parameters[field_name].default
        if field.is_required():
            assert default is inspect.Parameter.empty, field_name
        else:
            assert field.default == default, field_name


def test_nonlinearities_are_those_torch_accepts() -> None:
    annotation = inspect.signature(nn.init.kaiming_uniform_).parameters["nonlinearity"].annotation
    assert set(typing.get_args(Nonlinearity)) == set(typing.get_args(annotation))
    for nonlinearity in typing.get_args(Nonlinearity):
        assert nn.init.calculate_gain(nonlinearity, 0.1) > 0
    with pytest.raises(ValueError, match="Unsupported nonlinearity"):
        nn.init.calculate_gain("gelu")  # type: ignore[arg-type]
    adapter: TypeAdapter[Any] = TypeAdapter(InitializerSpec)
    with pytest.raises(ValidationError):
        adapter.validate_python({"type": "kaiming_normal_", "nonlinearity": "gelu"})


@pytest.mark.parametrize(
    "value",
    [
        {"type": "uniform_", "a": 1.0, "b": 0.0},
        {"type": "trunc_normal_", "a": 1.0, "b": 1.0},
        {"type": "normal_", "std": -1.0},
        {"type": "xavier_uniform_", "gain": -1.0},
        {"type": "kaiming_uniform_", "mode": "fan_avg"},
        {"type": "constant_"},
        {"type": "he_normal"},
    ],
)
def test_bad_initializer_is_refused(value: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        TypeAdapter(InitializerSpec).validate_python(value)


def _same_parameters(built: nn.Module, by_hand: nn.Module) -> None:
    built_state, hand_state = built.state_dict(), by_hand.state_dict()
    assert len(built_state) == len(hand_state)
    for (key, value), expected in zip(built_state.items(), hand_state.values(), strict=True):
        assert torch.equal(value, expected), key


MLP_LAYERS: list[dict[str, Any]] = [
    {"type": "Linear", "name": "hidden", "out_features": 16},
    {"type": "BatchNorm1d"},
    {"type": "ReLU"},
    {"type": "Linear", "out_features": 8, "bias": False},
    {"type": "Tanh"},
    {"type": "Linear", "name": "out", "out_features": 2},
]
MLP_RULES: list[dict[str, Any]] = [
    {
        "layer_types": ["Linear"],
        "weight": {"type": "xavier_uniform_", "gain": 0.5},
        "bias": {"type": "zeros_"},
    },
    {
        "layers": ["out"],
        "weight": {"type": "normal_", "std": 0.01},
        "bias": {"type": "constant_", "val": 0.1},
    },
    {"layer_types": ["BatchNorm1d"], "weight": {"type": "uniform_", "a": 0.5, "b": 1.5}},
    {"layers": ["hidden"], "bias": {"type": "trunc_normal_", "std": 0.02, "a": -0.03}},
]


def _mlp_by_hand() -> nn.Sequential:
    hidden, norm = nn.Linear(2, 16), nn.BatchNorm1d(16)
    middle, out = nn.Linear(16, 8, bias=False), nn.Linear(8, 2)
    for linear in (hidden, middle, out):
        nn.init.xavier_uniform_(linear.weight, gain=0.5)
        if linear.bias is not None:
            nn.init.zeros_(linear.bias)
    nn.init.normal_(out.weight, std=0.01)
    nn.init.constant_(out.bias, 0.1)
    nn.init.uniform_(norm.weight, 0.5, 1.5)
    nn.init.trunc_normal_(hidden.bias, std=0.02, a=-0.03)
    return nn.Sequential(hidden, norm, nn.ReLU(), middle, nn.Tanh(), out)


def test_rules_equal_hand_written_init_calls_in_order() -> None:
    spec = ModelSpec.model_validate({"layers": MLP_LAYERS, "init": MLP_RULES})
    torch.manual_seed(21)
    built = build_network(spec, (2,))
    after_built = torch.get_rng_state()
    torch.manual_seed(21)
    by_hand = _mlp_by_hand()
    _same_parameters(built, by_hand)
    assert torch.equal(after_built, torch.get_rng_state())
    hidden, out = built.get_submodule("hidden"), built.get_submodule("out")
    assert isinstance(hidden, nn.Linear)
    assert isinstance(out, nn.Linear)
    assert torch.all(hidden.bias >= -0.03)
    assert torch.all(out.bias == 0.1)


def test_conv_and_embedding_rules_equal_hand_written_init_calls() -> None:
    spec = ModelSpec.model_validate(
        {
            "layers": [
                {"type": "Embedding", "num_embeddings": 6, "embedding_dim": 3},
                {"type": "Conv1d", "out_channels": 4, "kernel_size": 2},
                {"type": "PReLU"},
                {"type": "Conv1d", "name": "c2", "out_channels": 4, "kernel_size": 2},
                {"type": "Flatten"},
                {"type": "Linear", "out_features": 5},
            ],
            "init": [
                {
                    "layer_types": ["Conv1d"],
                    "weight": {
                        "type": "kaiming_normal_",
                        "mode": "fan_out",
                        "nonlinearity": "relu",
                    },
                    "bias": {"type": "ones_"},
                },
                {"layers": ["c2"], "weight": {"type": "kaiming_uniform_", "a": 0.1}},
                {"layers": ["0"], "weight": {"type": "xavier_normal_"}},
                {"layer_types": ["PReLU"], "weight": {"type": "constant_", "val": 0.1}},
                {"layer_types": ["Linear"], "weight": {"type": "orthogonal_", "gain": 2.0}},
            ],
        }
    )
    torch.manual_seed(3)
    built = build_network(spec, (4,))
    torch.manual_seed(3)
    embedding, conv1, prelu = nn.Embedding(6, 3), nn.Conv1d(4, 4, 2), nn.PReLU()
    conv2, linear = nn.Conv1d(4, 4, 2), nn.Linear(4, 5)
    for conv in (conv1, conv2):
        nn.init.kaiming_normal_(conv.weight, mode="fan_out", nonlinearity="relu")
        assert conv.bias is not None
        nn.init.ones_(conv.bias)
    nn.init.kaiming_uniform_(conv2.weight, a=0.1)
    nn.init.xavier_normal_(embedding.weight)
    nn.init.constant_(prelu.weight, 0.1)
    nn.init.orthogonal_(linear.weight, gain=2.0)
    by_hand = nn.Sequential(embedding, conv1, prelu, conv2, nn.Flatten(), linear)
    _same_parameters(built, by_hand)


def test_training_starts_from_the_initialised_weights() -> None:
    spec = {
        "dataset": {"type": "moons", "n_samples": 100, "noise": 0.2},
        "model": {"layers": MLP_LAYERS, "init": MLP_RULES},
        "loss": {"type": "CrossEntropyLoss"},
        "optimizer": {"type": "Adam", "lr": 0.01},
        "training": {"epochs": 5, "seed": 21},
    }
    sink = ListSink()
    fit(build_run(TrainingSpec.model_validate(spec), torch.device("cpu")), sink)
    x_np, y_np = make_moons(n_samples=100, noise=0.2, random_state=0)
    x, y = torch.tensor(x_np, dtype=torch.float32), torch.tensor(y_np, dtype=torch.int64)
    torch.manual_seed(21)
    network = _mlp_by_hand()
    optimizer = torch.optim.Adam(network.parameters(), lr=0.01)
    expected = []
    for _ in range(5):
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(network(x), y)
        loss.backward()
        optimizer.step()
        expected.append(loss.item())
    assert [e["train_loss"] for e in sink.epochs] == pytest.approx(expected, abs=1e-6)


def _init_errors(rules: list[dict[str, Any]]) -> list[Any]:
    spec = {
        "dataset": {"type": "moons"},
        "model": {"layers": MLP_LAYERS, "init": rules},
        "loss": {"type": "CrossEntropyLoss"},
        "optimizer": {"type": "SGD"},
        "training": {"epochs": 1},
    }
    with pytest.raises(ValidationError) as caught:
        TrainingSpec.model_validate(spec)
    return list(caught.value.errors())


@pytest.mark.parametrize(
    ("rule", "field", "message"),
    [
        ({"layers": ["nope"], "weight": {"type": "zeros_"}}, "layers", "no layer is named 'nope'"),
        ({"layers": ["2"], "weight": {"type": "zeros_"}}, "layers", "layer '2' (ReLU) has no"),
        ({"layers": ["3"], "bias": {"type": "zeros_"}}, "layers", "(Linear) has no bias"),
        (
            {"layers": ["1"], "weight": {"type": "xavier_uniform_"}},
            "layers",
            "xavier_uniform_ needs a weight of two or more dimensions",
        ),
        (
            {"layer_types": ["ReLU"], "weight": {"type": "ones_"}},
            "layer_types",
            "no ReLU layer of this model has a weight",
        ),
        (
            {"layer_types": ["Conv2d"], "weight": {"type": "ones_"}},
            "layer_types",
            "the model has no layer of type 'Conv2d'",
        ),
        (
            {"layer_types": ["BatchNorm1d"], "weight": {"type": "orthogonal_"}},
            "layer_types",
            "orthogonal_ needs a weight of two or more dimensions",
        ),
    ],
)
def test_rule_that_does_not_fit_the_model_is_refused_at_its_field(
    rule: dict[str, Any], field: str, message: str
) -> None:
    [error] = _init_errors([MLP_RULES[0], rule])
    assert error["loc"] == ("model", "init", 1, field)
    assert message in error["msg"]


def test_fan_based_initializer_on_a_bias_is_refused() -> None:
    [error] = _init_errors([{"layers": ["out"], "bias": {"type": "kaiming_normal_"}}])
    assert error["loc"][:4] == ("model", "init", 0, "bias")
    assert "a bias has one" in error["msg"]


@pytest.mark.parametrize(
    "rule", [{"weight": {"type": "zeros_"}}, {"layers": ["out"]}], ids=["no-layers", "no-init"]
)
def test_rule_must_select_and_set_something(rule: dict[str, Any]) -> None:
    [error] = _init_errors([rule])
    assert error["loc"] == ("model", "init", 0)


def test_type_rule_skips_layers_without_the_parameter() -> None:
    spec = ModelSpec.model_validate(
        {
            "layers": [
                {"type": "Linear", "out_features": 3, "bias": False},
                {"type": "Linear", "out_features": 2},
            ],
            "init": [{"layer_types": ["Linear"], "bias": {"type": "constant_", "val": 0.5}}],
        }
    )
    network = build_network(spec, (4,))
    assert network[0].bias is None
    assert torch.all(network[1].bias == 0.5)
