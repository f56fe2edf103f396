"""probe_meta_network: one build on the meta device gives what a whole forward pass would."""

from typing import Any

import pytest
import torch

from training.build.networks import PROBE_BATCH, network_output_shape, probe_meta_network
from training.spec.model import ModelSpec

# (layers, one sample's shape)
NETWORKS: list[tuple[list[dict[str, Any]], tuple[int, ...]]] = [
    ([{"type": "Linear", "out_features": 3}, {"type": "Tanh"}], (2,)),
    (
        [
            {"type": "Embedding", "num_embeddings": 10, "embedding_dim": 4},
            {"type": "Flatten"},
            {"type": "Linear", "out_features": 2},
        ],
        (5,),
    ),
    (
        [
            {"type": "Conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1},
            {"type": "BatchNorm2d"},
            {"type": "Dropout2d", "p": 0.5},
            {"type": "MaxPool2d", "kernel_size": 2},
            {"type": "Flatten"},
            {"type": "Linear", "out_features": 10},
            {"type": "LogSoftmax"},
        ],
        (1, 8, 8),
    ),
    (
        [
            {"type": "Reshape", "target_shape": [3, -1]},
            {"type": "LayerNorm"},
            {"type": "Conv1d", "out_channels": 2, "kernel_size": 2},
        ],
        (12,),
    ),
]


@pytest.mark.parametrize(("layers", "sample_shape"), NETWORKS, ids=lambda v: str(v)[:30])
def test_the_probe_output_is_the_whole_networks_output(
    layers: list[dict[str, Any]], sample_shape: tuple[int, ...]
) -> None:
    spec = ModelSpec.model_validate({"layers": layers})
    probe = probe_meta_network(spec, sample_shape)
    integer = layers[0]["type"] == "Embedding"
    batch = torch.zeros(
        (PROBE_BATCH, *sample_shape),
        dtype=torch.int64 if integer else torch.float32,
        device="meta",
    )
    with torch.no_grad():
        whole = probe.network(batch)  # training mode, as the network trains
    assert probe.output.shape == whole.shape
    assert probe.output.dtype == whole.dtype
    assert probe.output.device.type == "meta"
    assert probe.shapes[0] == sample_shape
    assert len(probe.shapes) == len(layers) + 1
    assert probe.shapes[-1] == tuple(whole.shape[1:]) == network_output_shape(spec, sample_shape)
    assert list(dict(probe.network.named_children())) == spec.layer_names()
