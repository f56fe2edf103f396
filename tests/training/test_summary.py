"""summarize(): the torchsummary numbers of the first seed article's TestNet, and more."""

from typing import Any

import torch

from training.build.networks import build_meta_network, build_network
from training.spec.model import ModelSpec
from training.summary import NetworkSummary, summarize

# TestNet of the first seed article: conv1 = Conv2d(3, 16, 3), x.view(N, -1), hidden =
# Linear(1600, 100), ReLU, Linear(100, 50), ReLU, cla = Linear(50, 10); summary on (3, 12, 12)
TEST_NET: dict[str, Any] = {
    "layers": [
        {"type": "Conv2d", "name": "conv1", "out_channels": 16, "kernel_size": 3},
        {"type": "Flatten", "name": "view"},
        {"type": "Linear", "name": "hidden0", "out_features": 100},
        {"type": "ReLU", "name": "hidden1"},
        {"type": "Linear", "name": "hidden2", "out_features": 50},
        {"type": "ReLU", "name": "hidden3"},
        {"type": "Linear", "name": "cla", "out_features": 10},
    ]
}
INPUT = (3, 12, 12)


def _test_net_summary() -> NetworkSummary:
    return summarize(build_network(ModelSpec.model_validate(TEST_NET), INPUT), INPUT)


def test_test_net_has_the_articles_parameter_count_and_shapes() -> None:
    summary = _test_net_summary()
    assert summary.total_params == 166_108
    assert (summary.trainable_params, summary.non_trainable_params) == (166_108, 0)
    assert [(row.name, row.type) for row in summary.layers] == [
        ("conv1", "Conv2d"),
        ("view", "Flatten"),
        ("hidden0", "Linear"),
        ("hidden1", "ReLU"),
        ("hidden2", "Linear"),
        ("hidden3", "ReLU"),
        ("cla", "Linear"),
    ]
    assert [row.output_shape for row in summary.layers] == [
        (16, 10, 10),
        (1600,),
        (100,),
        (100,),
        (50,),
        (50,),
        (10,),
    ]
    assert [row.params for row in summary.layers] == [448, 0, 160_100, 0, 5_050, 0, 510]
    assert [row.trainable for row in summary.layers] == [
        True,
        False,
        True,
        False,
        True,
        False,
        True,
    ]
    assert summary.param_size_mb == 166_108 * 4 / 1024**2
    assert summary.input_bytes == 3 * 12 * 12 * 4
    assert summary.activation_bytes == 4 * (1600 + 1600 + 100 + 100 + 50 + 50 + 10)


def test_table_prints_like_torchsummary() -> None:
    lines = _test_net_summary().format_table().splitlines()
    assert lines[1].split() == ["Layer", "(type)", "Output", "Shape", "Param", "#"]
    conv = next(line for line in lines if "conv1 (Conv2d)" in line)
    assert conv.split()[-5:] == ["[-1,", "16,", "10,", "10]", "448"]
    hidden = next(line for line in lines if "hidden0 (Linear)" in line)
    assert hidden.split()[-3:] == ["[-1,", "100]", "160,100"]
    for expected in [
        "Total params: 166,108",
        "Trainable params: 166,108",
        "Non-trainable params: 0",
        "Input size (MB): 0.00",
        "Forward/backward pass size (MB): 0.03",
        "Params size (MB): 0.63",
        "Estimated Total Size (MB): 0.66",
    ]:
        assert expected in lines


def test_frozen_parameters_and_buffers() -> None:
    spec = ModelSpec.model_validate(
        {
            "layers": [
                {"type": "Linear", "name": "frozen", "out_features": 8},
                {"type": "BatchNorm1d"},
                {"type": "Linear", "out_features": 2},
            ]
        }
    )
    network = build_network(spec, (4,))
    network.get_submodule("frozen").requires_grad_(False)
    summary = summarize(network, (4,))
    assert summary.total_params == 40 + 16 + 18
    assert (summary.trainable_params, summary.non_trainable_params) == (34, 40)
    assert [row.trainable for row in summary.layers] == [False, True, True]
    assert "Non-trainable params: 40" in summary.format_table()


def test_meta_network_gives_the_same_summary_without_weights() -> None:
    spec = ModelSpec.model_validate(TEST_NET)
    assert summarize(build_meta_network(spec, INPUT), INPUT) == _test_net_summary()


def test_summary_round_trips_through_json() -> None:
    summary = _test_net_summary()
    assert NetworkSummary.model_validate_json(summary.model_dump_json()) == summary


def test_summary_draws_no_random_number_and_keeps_the_mode() -> None:
    spec = ModelSpec.model_validate(
        {"layers": [{"type": "Linear", "out_features": 8}, {"type": "Dropout"}]}
    )
    network = build_network(spec, (4,))
    before = torch.get_rng_state()
    summary = summarize(network, (4,))
    assert torch.equal(before, torch.get_rng_state())
    assert network.training
    assert [row.output_shape for row in summary.layers] == [(8,), (8,)]


def test_embedding_network_is_probed_with_integer_indices() -> None:
    spec = ModelSpec.model_validate(
        {
            "layers": [
                {"type": "Embedding", "num_embeddings": 10, "embedding_dim": 4},
                {"type": "Flatten"},
            ]
        }
    )
    summary = summarize(build_network(spec, (5,)), (5,))
    assert [row.output_shape for row in summary.layers] == [(5, 4), (20,)]
    assert summary.total_params == 40
    assert summary.input_bytes == 5 * 8
