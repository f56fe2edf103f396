"""Network summaries like torchsummary's: per-layer output shapes and parameter counts."""

import math
from collections.abc import Sequence

import torch
from pydantic import BaseModel, ConfigDict
from torch import nn

from training.build.networks import module_device, probing, sample_batch

BYTES_PER_PARAM = 4  # float32, as torchsummary counts
MB = 1024**2
RULE_WIDTH = 64


class LayerSummary(BaseModel):
    """One layer call: output_shape is per sample, without the batch dimension."""

    model_config = ConfigDict(frozen=True)

    name: str
    type: str
    output_shape: tuple[int, ...]
    params: int
    trainable: bool


class NetworkSummary(BaseModel):
    """Sizes are per sample, as torchsummary's with its default batch size."""

    model_config = ConfigDict(frozen=True)

    input_shape: tuple[int, ...]
    layers: list[LayerSummary]
    total_params: int
    trainable_params: int
    non_trainable_params: int
    param_size_mb: float
    input_bytes: int
    activation_bytes: int

    def format_table(self) -> str:
        """The table torchsummary prints, with each layer's name before its type."""
        labels = [f"{layer.name} ({layer.type})" for layer in self.layers]
        width = max([20, *map(len, labels)])
        rule = "-" * max(RULE_WIDTH, width + 44)
        lines = [rule, _row("Layer (type)", "Output Shape", "Param #", width), "=" * len(rule)]
        lines += [
            _row(label, str([-1, *layer.output_shape]), f"{layer.params:,}", width)
            for label, layer in zip(labels, self.layers, strict=True)
        ]
        input_mb = self.input_bytes / MB
        # x2 for the gradients of the activations, as torchsummary estimates
        pass_mb = 2 * self.activation_bytes / MB
        lines += [
            "=" * len(rule),
            f"Total params: {self.total_params:,}",
            f"Trainable params: {self.trainable_params:,}",
            f"Non-trainable params: {self.non_trainable_params:,}",
            rule,
            f"Input size (MB): {input_mb:0.2f}",
            f"Forward/backward pass size (MB): {pass_mb:0.2f}",
            f"Params size (MB): {self.param_size_mb:0.2f}",
            f"Estimated Total Size (MB): {input_mb + pass_mb + self.param_size_mb:0.2f}",
            rule,
        ]
        return "\n".join(lines)


def _row(label: str, shape: str, params: str, width: int) -> str:
    return f"{label:>{width}}  {shape:>25} {params:>15}"


def _leaves(network: nn.Module) -> list[tuple[str, nn.Module]]:
    return [(name, m) for name, m in network.named_modules() if not any(m.children())]


def _layer_rows(
    network: nn.Module, sample_shape: tuple[int, ...]
) -> tuple[list[LayerSummary], int, torch.Tensor]:
    """One row per leaf-module call in call order, the activation bytes, and the probe input."""
    rows: list[LayerSummary] = []
    activation_bytes = 0

    def record(name: str, module: nn.Module, output: object) -> None:
        nonlocal activation_bytes
        if not isinstance(output, torch.Tensor):
            raise TypeError(f"{name} returns {type(output).__name__}; summaries need one tensor")
        params = list(module.parameters())
        per_sample = tuple(output.shape[1:])
        activation_bytes += math.prod(per_sample) * output.element_size()
        rows.append(
            LayerSummary(
                name=name or type(module).__name__,
                type=type(module).__name__,
                output_shape=per_sample,
                params=sum(p.numel() for p in params),
                trainable=bool(params) and all(p.requires_grad for p in params),
            )
        )

    hooks = [
        module.register_forward_hook(lambda m, _i, out, name=name: record(name, m, out))
        for name, module in _leaves(network)
    ]
    batch = sample_batch(network, sample_shape, module_device(network))
    try:
        with probing(network):
            network(batch)
    finally:
        for hook in hooks:
            hook.remove()
    return rows, activation_bytes, batch


def summarize(network: nn.Module, sample_shape: Sequence[int]) -> NetworkSummary:
    """Run one probe batch through the network (eval mode, no autograd, no random draws).

    Works on a network from build_meta_network as well, without allocating its weights.
    """
    shape = tuple(sample_shape)
    rows, activation_bytes, batch = _layer_rows(network, shape)
    params = list(network.parameters())
    total = sum(p.numel() for p in params)
    trainable = sum(p.numel() for p in params if p.requires_grad)
    return NetworkSummary(
        input_shape=shape,
        layers=rows,
        total_params=total,
        trainable_params=trainable,
        non_trainable_params=total - trainable,
        param_size_mb=total * BYTES_PER_PARAM / MB,
        input_bytes=math.prod(shape) * batch.element_size(),
        activation_bytes=activation_bytes,
    )
