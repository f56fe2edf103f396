"""Layer specs: inferred sizes, torch's defaults, shape errors, exactness against nn.Sequential."""

import inspect
import pickle
import typing
from typing import Any

import pytest
import torch
from pydantic import BaseModel, ValidationError
from sklearn.datasets import make_moons, make_regression
from torch import nn

from training.build.networks import (
    LAYERS,
    LayerShapeError,
    Reshape,
    build_meta_network,
    build_network,
    network_output_shape,
)
from training.loop import fit
from training.run import build_run
from training.sinks import ListSink
from training.spec import TrainingSpec
from training.spec.layers import LayerSpec
from training.spec.model import ModelSpec

ATOL = 1e-6

# (layer spec, its context, the torch layer a user would write by hand in that place)
# vector: moons, Linear(6) before it, so the layer receives (6,)
# image: regression with 48 features unflattened to (3, 4, 4); sequence: reshaped to (3, 16)
CASES: list[tuple[dict[str, Any], str, nn.Module]] = [
    ({"type": "Linear", "out_features": 4}, "vector", nn.Linear(6, 4)),
    ({"type": "Linear", "out_features": 5}, "sequence", nn.Linear(16, 5)),
    ({"type": "Conv1d", "out_channels": 4, "kernel_size": 3}, "sequence", nn.Conv1d(3, 4, 3)),
    (
        {"type": "Conv2d", "out_channels": 4, "kernel_size": [3, 2], "padding": 1},
        "image",
        nn.Conv2d(3, 4, (3, 2), padding=1),
    ),
    ({"type": "MaxPool1d", "kernel_size": 2}, "sequence", nn.MaxPool1d(2)),
    ({"type": "MaxPool2d", "kernel_size": 2}, "image", nn.MaxPool2d(2)),
    ({"type": "AvgPool1d", "kernel_size": 2}, "sequence", nn.AvgPool1d(2)),
    ({"type": "AvgPool2d", "kernel_size": 2, "stride": 1}, "image", nn.AvgPool2d(2, stride=1)),
    ({"type": "AdaptiveAvgPool2d", "output_size": 2}, "image", nn.AdaptiveAvgPool2d(2)),
    ({"type": "Flatten"}, "image", nn.Flatten()),
    (
        {"type": "Unflatten", "dim": 1, "unflattened_size": [2, 3]},
        "vector",
        nn.Unflatten(1, (2, 3)),
    ),
    ({"type": "Reshape", "target_shape": [-1, 2]}, "image", Reshape((-1, 2))),
    ({"type": "Dropout"}, "vector", nn.Dropout()),
    ({"type": "Dropout2d", "p": 0.2}, "image", nn.Dropout2d(0.2)),
    ({"type": "BatchNorm1d"}, "vector", nn.BatchNorm1d(6)),
    ({"type": "BatchNorm1d"}, "sequence", nn.BatchNorm1d(3)),
    ({"type": "BatchNorm2d"}, "image", nn.BatchNorm2d(3)),
    ({"type": "LayerNorm"}, "vector", nn.LayerNorm(6)),
    ({"type": "LayerNorm"}, "image", nn.LayerNorm([3, 4, 4])),
    ({"type": "LayerNorm", "normalized_shape": 4}, "image", nn.LayerNorm(4)),
    ({"type": "GroupNorm", "num_groups": 3}, "vector", nn.GroupNorm(3, 6)),
    ({"type": "GroupNorm", "num_groups": 3}, "image", nn.GroupNorm(3, 3)),
    ({"type": "InstanceNorm1d"}, "sequence", nn.InstanceNorm1d(3)),
    ({"type": "InstanceNorm2d", "affine": True}, "image", nn.InstanceNorm2d(3, affine=True)),
    ({"type": "Identity"}, "vector", nn.Identity()),
    ({"type": "ReLU"}, "vector", nn.ReLU()),
    ({"type": "LeakyReLU", "negative_slope": 0.2}, "vector", nn.LeakyReLU(0.2)),
    ({"type": "PReLU"}, "vector", nn.PReLU()),
    ({"type": "PReLU", "num_parameters": 3}, "image", nn.PReLU(3)),
    ({"type": "ELU"}, "vector", nn.ELU()),
    ({"type": "GELU", "approximate": "tanh"}, "vector", nn.GELU("tanh")),
    ({"type": "SELU"}, "vector", nn.SELU()),
    ({"type": "SiLU"}, "vector", nn.SiLU()),
    ({"type": "Sigmoid"}, "vector", nn.Sigmoid()),
    ({"type": "Tanh"}, "vector", nn.Tanh()),
    ({"type": "Softmax"}, "vector", nn.Softmax(dim=1)),
    ({"type": "LogSoftmax", "dim": -1}, "sequence", nn.LogSoftmax(dim=-1)),
    ({"type": "Softplus", "beta": 2.0}, "vector", nn.Softplus(beta=2.0)),
    ({"type": "Hardtanh", "min_val": -2.0}, "vector", nn.Hardtanh(-2.0)),
]
CONTEXT_BEFORE: dict[str, list[dict[str, Any]]] = {
    "vector": [{"type": "Linear", "out_features": 6}],
    "image": [{"type": "Unflatten", "dim": 1, "unflattened_size": [3, 4, 4]}],
    "sequence": [{"type": "Reshape", "target_shape": [3, 16]}],
}


def _spec(layer: dict[str, Any], context: str, **training: Any) -> dict[str, Any]:
    head = {"type": "Linear", "out_features": 2 if context == "vector" else 1}
    layers = [*CONTEXT_BEFORE[context], {**layer, "name": "layer"}, {"type": "Flatten"}, head]
    if context == "vector":
        dataset = {"type": "moons", "n_samples": 40, "noise": 0.2}
        loss = {"type": "CrossEntropyLoss"}
    else:
        dataset = {"type": "regression", "n_samples": 40, "n_features": 48, "noise": 0.1}
        loss = {"type": "MSELoss"}
    return {
        "dataset": dataset,
        "model": {"layers": layers},
        "loss": loss,
        "optimizer": {"type": "SGD", "lr": 0.01},
        "training": {"epochs": 1, "batch_size": 16, **training},
    }


def _case_id(case: tuple[dict[str, Any], str, nn.Module]) -> str:
    return f"{case[0]['type']}-{case[1]}"


@pytest.mark.parametrize(("layer", "context", "by_hand"), CASES, ids=map(_case_id, CASES))
def test_layer_infers_its_sizes_and_trains_one_epoch(
    layer: dict[str, Any], context: str, by_hand: nn.Module
) -> None:
    run = build_run(TrainingSpec.model_validate(_spec(layer, context)), torch.device("cpu"))
    built = run.network.get_submodule("layer")
    assert repr(built) == repr(by_hand)
    sink = ListSink()
    fit(run, sink)
    assert len(sink.epochs) == 1
    assert torch.isfinite(torch.tensor(sink.epochs[0]["train_loss"]))


def test_every_layer_type_is_exercised() -> None:
    tried = {layer["type"] for layer, _, _ in CASES} | {"Embedding"}
    assert tried == set(LAYERS.names())


def test_meta_shapes_equal_the_built_network_shapes() -> None:
    for layer, context, _ in CASES:
        spec = TrainingSpec.model_validate(_spec(layer, context))
        sample_shape = (2,) if context == "vector" else (48,)
        network = build_network(spec.model, sample_shape)
        out = network.eval()(torch.zeros(3, *sample_shape))
        assert network_output_shape(spec.model, sample_shape) == tuple(out.shape[1:])


def test_reshape_keeps_the_batch_and_infers_minus_one() -> None:
    spec = ModelSpec.model_validate({"layers": [{"type": "Reshape", "target_shape": [4, -1]}]})
    network = build_network(spec, (3, 4, 4))
    x = torch.arange(96.0).reshape(2, 3, 4, 4)
    assert torch.equal(network(x), x.reshape(2, 4, 12))
    assert network_output_shape(spec, (3, 4, 4)) == (4, 12)


def test_embedding_maps_integer_features_to_vectors() -> None:
    spec = ModelSpec.model_validate(
        {
            "layers": [
                {"type": "Embedding", "num_embeddings": 10, "embedding_dim": 4},
                {"type": "Flatten"},
                {"type": "Linear", "out_features": 3},
            ]
        }
    )
    torch.manual_seed(5)
    network = build_network(spec, (7,))
    torch.manual_seed(5)
    by_hand = nn.Sequential(nn.Embedding(10, 4), nn.Flatten(), nn.Linear(28, 3))
    indices = torch.randint(0, 10, (5, 7))
    assert torch.equal(network(indices), by_hand(indices))
    assert network_output_shape(spec, (7,)) == (3,)


def test_embedding_only_as_the_first_layer() -> None:
    with pytest.raises(ValidationError) as caught:
        ModelSpec.model_validate(
            {
                "layers": [
                    {"type": "Identity"},
                    {"type": "Embedding", "num_embeddings": 10, "embedding_dim": 4},
                ]
            }
        )
    [error] = caught.value.errors()
    assert error["loc"] == ("layers", 1)
    assert "first layer" in error["msg"]


def _same_parameters(built: nn.Module, by_hand: nn.Module) -> None:
    built_state, hand_state = built.state_dict(), by_hand.state_dict()
    assert [v.shape for v in built_state.values()] == [v.shape for v in hand_state.values()]
    for (key, value), expected in zip(built_state.items(), hand_state.values(), strict=True):
        assert torch.equal(value, expected), key


NETWORKS: list[tuple[list[dict[str, Any]], tuple[int, ...], Any]] = [
    (
        [
            {"type": "Linear", "out_features": 16},
            {"type": "BatchNorm1d"},
            {"type": "ReLU"},
            {"type": "Dropout", "p": 0.3},
            {"type": "Linear", "out_features": 8},
            {"type": "PReLU"},
            {"type": "LayerNorm"},
            {"type": "Linear", "out_features": 2},
        ],
        (5,),
        lambda: nn.Sequential(
            nn.Linear(5, 16),
            nn.BatchNorm1d(16),
            nn.ReLU(),
            nn.Dropout(0.3),
            nn.Linear(16, 8),
            nn.PReLU(),
            nn.LayerNorm(8),
            nn.Linear(8, 2),
        ),
    ),
    (
        [
            {"type": "Conv2d", "out_channels": 8, "kernel_size": 3, "padding": "same"},
            {"type": "BatchNorm2d"},
            {"type": "ReLU"},
            {"type": "MaxPool2d", "kernel_size": 2},
            {"type": "Conv2d", "out_channels": 4, "kernel_size": [2, 3], "stride": 2},
            {"type": "GroupNorm", "num_groups": 2},
            {"type": "Flatten"},
            {"type": "Linear", "out_features": 10},
        ],
        (3, 12, 12),
        lambda: nn.Sequential(
            nn.Conv2d(3, 8, 3, padding="same"),
            nn.BatchNorm2d(8),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(8, 4, (2, 3), stride=2),
            nn.GroupNorm(2, 4),
            nn.Flatten(),
            nn.Linear(4 * 3 * 2, 10),
        ),
    ),
    (
        [
            {"type": "Conv1d", "out_channels": 6, "kernel_size": 3, "groups": 2},
            {"type": "InstanceNorm1d", "affine": True},
            {"type": "AvgPool1d", "kernel_size": 2},
            {"type": "Flatten"},
            {"type": "Linear", "out_features": 3, "bias": False},
        ],
        (2, 9),
        lambda: nn.Sequential(
            nn.Conv1d(2, 6, 3, groups=2),
            nn.InstanceNorm1d(6, affine=True),
            nn.AvgPool1d(2),
            nn.Flatten(),
            nn.Linear(18, 3, bias=False),
        ),
    ),
]


@pytest.mark.parametrize(("layers", "sample_shape", "by_hand"), NETWORKS, ids=["mlp", "cnn", "1d"])
def test_built_network_draws_the_same_parameters_as_nn_sequential(
    layers: list[dict[str, Any]], sample_shape: tuple[int, ...], by_hand: Any
) -> None:
    torch.manual_seed(11)
    built = build_network(ModelSpec.model_validate({"layers": layers}), sample_shape)
    after_built = torch.get_rng_state()
    torch.manual_seed(11)
    expected = by_hand()
    _same_parameters(built, expected)
    assert torch.equal(after_built, torch.get_rng_state())
    assert repr(built) == repr(expected)


def test_meta_network_has_no_storage_and_draws_nothing() -> None:
    spec = ModelSpec.model_validate(
        {"layers": [{"type": "Linear", "out_features": 1_000_000}, {"type": "ReLU"}] * 3}
    )
    torch.manual_seed(0)
    before = torch.get_rng_state()
    network = build_meta_network(spec, (1_000_000,))
    assert network_output_shape(spec, (1_000_000,)) == (1_000_000,)
    assert torch.equal(before, torch.get_rng_state())
    assert {p.device.type for p in network.parameters()} == {"meta"}
    assert sum(p.numel() for p in network.parameters()) == 3 * (10**12 + 10**6)


def _shape_error(layers: list[dict[str, Any]], sample_shape: tuple[int, ...]) -> LayerShapeError:
    spec = ModelSpec.model_validate({"layers": layers})
    with pytest.raises(LayerShapeError) as caught:
        network_output_shape(spec, sample_shape)
    with pytest.raises(LayerShapeError):
        build_network(spec, sample_shape)
    return caught.value


def test_conv_on_a_flat_vector_names_the_layer_and_the_shapes() -> None:
    layers: list[dict[str, Any]] = [
        {"type": "Linear", "out_features": 128},
        {"type": "ReLU"},
        {"type": "Dropout"},
        {"type": "Conv2d", "name": "conv2", "out_channels": 4, "kernel_size": 3},
    ]
    error = _shape_error(layers, (10,))
    assert str(error).startswith("layer 3 'conv2' (Conv2d): needs input (C, H, W), got (128,)")
    assert (error.index, error.name) == (3, "conv2")
    assert isinstance(error, ValueError)
    again = pickle.loads(pickle.dumps(error))
    assert (str(again), again.index, again.name) == (str(error), 3, "conv2")


def test_kernel_larger_than_the_input_names_the_layer() -> None:
    layers = [
        {"type": "Unflatten", "dim": 1, "unflattened_size": [3, 2, 2]},
        {"type": "Conv2d", "out_channels": 4, "kernel_size": 3},
    ]
    error = _shape_error(layers, (12,))
    assert str(error).startswith("layer 1 '1' (Conv2d): cannot take input (3, 2, 2): ")
    assert "Kernel size can't be greater than actual input size" in str(error)


def test_linear_after_an_unflattened_image_asks_for_a_flatten() -> None:
    layers = [
        {"type": "Conv2d", "out_channels": 4, "kernel_size": 3},
        {"type": "Linear", "name": "head", "out_features": 10},
    ]
    error = _shape_error(layers, (3, 8, 8))
    assert str(error) == (
        "layer 1 'head' (Linear): needs input (features,) or (L, features), got (4, 6, 6); "
        "put a Flatten before it"
    )


@pytest.mark.parametrize(
    ("layer", "sample_shape", "problem"),
    [
        ({"type": "MaxPool2d", "kernel_size": 3}, (3, 2, 2), "Output size is too small"),
        ({"type": "Flatten", "start_dim": 0}, (4,), "mixes up the batch dimension"),
        ({"type": "Softmax", "dim": 2}, (4,), "dim 2 is out of range"),
        ({"type": "GroupNorm", "num_groups": 3}, (4,), "must be divisible by num_groups"),
        ({"type": "Conv1d", "out_channels": 4, "kernel_size": 1, "groups": 4}, (3, 5), "groups"),
        ({"type": "LayerNorm", "normalized_shape": [5]}, (4,), "normalized_shape"),
        ({"type": "PReLU", "num_parameters": 3}, (4,), "channel size"),
        ({"type": "Unflatten", "dim": 1, "unflattened_size": [3, 2]}, (4,), "don't multiply"),
        ({"type": "Reshape", "target_shape": [3, -1]}, (4,), "cannot reshape (4,) (4 values)"),
        ({"type": "BatchNorm1d"}, (3, 4, 4), "needs input (C,) or (C, L)"),
        ({"type": "Linear", "name": "train", "out_features": 2}, (4,), "taken by nn.Sequential"),
    ],
    ids=lambda v: v["type"] if isinstance(v, dict) else None,
)
def test_layer_that_cannot_take_its_input_is_a_shape_error(
    layer: dict[str, Any], sample_shape: tuple[int, ...], problem: str
) -> None:
    layers: list[dict[str, Any]] = [{"type": "Identity"}, layer]
    error = _shape_error(layers, sample_shape)
    assert error.index == 1
    assert f"({layer['type']}): " in str(error)
    assert problem in str(error)


def _layer_errors(layer: dict[str, Any]) -> list[Any]:
    with pytest.raises(ValidationError) as caught:
        ModelSpec.model_validate({"layers": [layer]})
    return list(caught.value.errors())


@pytest.mark.parametrize(
    ("layer", "field", "message"),
    [
        ({"type": "Conv2d", "out_channels": 4, "kernel_size": [3, 3, 3]}, "kernel_size", "2 items"),
        ({"type": "Conv2d", "out_channels": 4, "kernel_size": 0}, "kernel_size", "greater than"),
        (
            {"type": "Conv1d", "out_channels": 4, "kernel_size": 3, "stride": 2, "padding": "same"},
            None,
            "padding='same' needs stride 1",
        ),
        ({"type": "Conv2d", "out_channels": 3, "kernel_size": 1, "groups": 2}, None, "divisible"),
        ({"type": "Dropout", "p": 1.5}, "p", "less than or equal to 1"),
        ({"type": "Reshape", "target_shape": [-1, -1]}, None, "at most one size may be -1"),
        ({"type": "Unflatten", "dim": 1, "unflattened_size": [0, 2]}, None, "must be positive"),
        ({"type": "Hardtanh", "min_val": 1.0}, None, "max_val must be greater"),
        (
            {"type": "Embedding", "num_embeddings": 3, "embedding_dim": 2, "padding_idx": 3},
            None,
            "padding_idx",
        ),
        ({"type": "Linear", "out_features": 2, "name": "a.b"}, "name", "pattern"),
    ],
)
def test_bad_layer_arguments_fail_validation_at_the_layer(
    layer: dict[str, Any], field: str | None, message: str
) -> None:
    prefix = ("layers", 0, layer["type"], *([field] if field else []))
    errors = [e for e in _layer_errors(layer) if e["loc"][: len(prefix)] == prefix]
    assert errors
    assert any(message in error["msg"] for error in errors)


def test_unnamed_layer_index_collides_with_a_name() -> None:
    with pytest.raises(ValidationError, match="repeated: 1"):
        ModelSpec.model_validate({"layers": [{"type": "ReLU", "name": "1"}, {"type": "Tanh"}]})


def test_softmax_default_is_the_class_dimension_even_on_sequences() -> None:
    spec = ModelSpec.model_validate({"layers": [{"type": "Softmax"}]})
    network = build_network(spec, (3, 5))
    out = network(torch.randn(2, 3, 5))
    assert torch.allclose(out.sum(dim=1), torch.ones(2, 5))


# gradq fields whose default differs from torch's, on purpose
INFERRED_DEFAULTS = {("LayerNorm", "normalized_shape")}


def _torch_layer_specs() -> list[type[BaseModel]]:
    members = typing.get_args(typing.get_args(LayerSpec)[0])
    return [cls for cls in members if hasattr(nn, cls.model_fields["type"].default)]


@pytest.mark.parametrize("spec_class", _torch_layer_specs(), ids=lambda c: c.__name__)
def test_defaults_equal_torch(spec_class: type[BaseModel]) -> None:
    name = spec_class.model_fields["type"].default
    parameters = inspect.signature(getattr(nn, name).__init__).parameters
    for field_name, field in spec_class.model_fields.items():
        if field_name in {"type", "name"} or (name, field_name) in INFERRED_DEFAULTS:
            continue
        torch_default = parameters[field_name].default
        if field.is_required():
            assert torch_default is inspect.Parameter.empty, field_name
        else:
            assert field.default == torch_default, field_name


def test_only_reshape_is_not_a_torch_layer() -> None:
    members = typing.get_args(typing.get_args(LayerSpec)[0])
    assert len(_torch_layer_specs()) == len(members) - 1
    assert not hasattr(nn, "Reshape")


def _moons_spec(layers: list[dict[str, Any]], epochs: int) -> dict[str, Any]:
    return {
        "dataset": {"type": "moons", "n_samples": 200, "noise": 0.2, "random_state": 1},
        "model": {"layers": layers},
        "loss": {"type": "CrossEntropyLoss"},
        "optimizer": {"type": "SGD", "lr": 0.1, "momentum": 0.9},
        "training": {"epochs": epochs, "batch_size": 32, "seed": 4},
    }


def _hand_loop(
    network: nn.Module,
    optimizer: torch.optim.Optimizer,
    loss_fn: nn.Module,
    data: tuple[torch.Tensor, torch.Tensor],
    epochs: int,
    seed: int,
    batch_size: int,
) -> list[float]:
    x, y = data
    generator = torch.Generator().manual_seed(seed)
    losses = []
    for _ in range(epochs):
        network.train()
        order = torch.randperm(len(x), generator=generator)
        total = 0.0
        for start in range(0, len(x), batch_size):
            index = order[start : start + batch_size]
            optimizer.zero_grad()
            loss = loss_fn(network(x[index]), y[index])
            loss.backward()
            optimizer.step()
            total += loss.item() * len(index)
        losses.append(total / len(x))
    return losses


def _train_losses(spec: dict[str, Any]) -> list[float]:
    sink = ListSink()
    fit(build_run(TrainingSpec.model_validate(spec), torch.device("cpu")), sink)
    return [epoch["train_loss"] for epoch in sink.epochs]


def test_mlp_with_dropout_and_batchnorm_equals_hand_written_loop() -> None:
    layers: list[dict[str, Any]] = [
        {"type": "Linear", "out_features": 16},
        {"type": "BatchNorm1d"},
        {"type": "ReLU"},
        {"type": "Dropout", "p": 0.3},
        {"type": "Linear", "out_features": 2},
    ]
    losses = _train_losses(_moons_spec(layers, epochs=5))
    x, y = make_moons(n_samples=200, noise=0.2, random_state=1)
    data = torch.tensor(x, dtype=torch.float32), torch.tensor(y, dtype=torch.int64)
    torch.manual_seed(4)
    network = nn.Sequential(
        nn.Linear(2, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 2)
    )
    optimizer = torch.optim.SGD(network.parameters(), lr=0.1, momentum=0.9)
    expected = _hand_loop(network, optimizer, nn.CrossEntropyLoss(), data, 5, 4, 32)
    assert losses == pytest.approx(expected, abs=ATOL)
    assert losses[-1] < losses[0]


def test_small_cnn_equals_hand_written_loop() -> None:
    spec = {
        "dataset": {"type": "regression", "n_samples": 64, "n_features": 48, "noise": 0.1},
        "model": {
            "layers": [
                {"type": "Unflatten", "dim": 1, "unflattened_size": [3, 4, 4]},
                {"type": "Conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1},
                {"type": "BatchNorm2d"},
                {"type": "ReLU"},
                {"type": "MaxPool2d", "kernel_size": 2},
                {"type": "Flatten"},
                {"type": "Linear", "out_features": 1},
            ]
        },
        "loss": {"type": "MSELoss"},
        "optimizer": {"type": "Adam", "lr": 0.01},
        "training": {"epochs": 4, "batch_size": 16, "seed": 9},
    }
    losses = _train_losses(spec)
    x, y = make_regression(n_samples=64, n_features=48, noise=0.1, random_state=0)
    data = torch.tensor(x, dtype=torch.float32), torch.tensor(y, dtype=torch.float32).reshape(-1, 1)
    torch.manual_seed(9)
    network = nn.Sequential(
        nn.Unflatten(1, (3, 4, 4)),
        nn.Conv2d(3, 4, 3, padding=1),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(16, 1),
    )
    optimizer = torch.optim.Adam(network.parameters(), lr=0.01)
    expected = _hand_loop(network, optimizer, nn.MSELoss(), data, 4, 9, 16)
    assert losses == pytest.approx(expected, abs=ATOL)
