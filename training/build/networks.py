"""nn.Sequential assembly with input sizes inferred from the data's sample shape."""

from collections import OrderedDict
from collections.abc import Callable

import torch
from torch import nn

from training.registry import Registry
from training.spec import ModelSpec
from training.spec.layers import LayerBase, LinearSpec, ReLUSpec, SigmoidSpec, TanhSpec

Shape = tuple[int, ...]
LayerBuilder = Callable[[LayerBase, Shape], nn.Module]


def _linear(spec: LayerBase, in_shape: Shape) -> nn.Module:
    assert isinstance(spec, LinearSpec)
    return nn.Linear(in_shape[-1], spec.out_features, bias=spec.bias)


def _relu(spec: LayerBase, _in_shape: Shape) -> nn.Module:
    assert isinstance(spec, ReLUSpec)
    return nn.ReLU(inplace=spec.inplace)


LAYERS: Registry[LayerBase, LayerBuilder] = Registry(
    "layer",
    {
        LinearSpec: _linear,
        ReLUSpec: _relu,
        TanhSpec: lambda _spec, _shape: nn.Tanh(),
        SigmoidSpec: lambda _spec, _shape: nn.Sigmoid(),
    },
)


def output_shape(module: nn.Module, in_shape: Shape) -> Shape:
    """The per-sample output shape, probed in eval mode so no random number is drawn."""
    was_training = module.training
    module.eval()
    with torch.no_grad():
        out = module(torch.zeros((2, *in_shape)))
    module.train(was_training)
    return tuple(out.shape[1:])


def build_network(spec: ModelSpec, sample_shape: Shape) -> nn.Sequential:
    """Layers in spec order, named like the spec (or "0", "1", ... as nn.Sequential does).

    Callers seed torch right before this call: parameters are drawn in layer order, exactly as a
    hand-written nn.Sequential with the same layers would draw them.
    """
    modules: OrderedDict[str, nn.Module] = OrderedDict()
    shape = sample_shape
    for index, layer in enumerate(spec.layers):
        module = LAYERS.builder(layer)(layer, shape)
        modules[layer.name or str(index)] = module
        shape = output_shape(module, shape)
    return nn.Sequential(modules)
