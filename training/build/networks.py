"""nn.Sequential assembly with input sizes inferred from the data's sample shape."""

import math
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from training.build.init import apply_init
from training.check_cache import CheckCache
from training.registry import Registry
from training.spec.init import spec_type
from training.spec.layers import (
    AdaptiveAvgPool2dSpec,
    AvgPool1dSpec,
    AvgPool2dSpec,
    BatchNorm1dSpec,
    BatchNorm2dSpec,
    Conv1dSpec,
    Conv2dSpec,
    Dropout2dSpec,
    DropoutSpec,
    ELUSpec,
    EmbeddingSpec,
    FlattenSpec,
    GELUSpec,
    GroupNormSpec,
    HardtanhSpec,
    IdentitySpec,
    InstanceNorm1dSpec,
    InstanceNorm2dSpec,
    LayerBase,
    LayerNormSpec,
    LeakyReLUSpec,
    LinearSpec,
    LogSoftmaxSpec,
    MaxPool1dSpec,
    MaxPool2dSpec,
    PReLUSpec,
    ReLUSpec,
    ReshapeSpec,
    SELUSpec,
    SigmoidSpec,
    SiLUSpec,
    SoftmaxSpec,
    SoftplusSpec,
    TanhSpec,
    UnflattenSpec,
)
from training.spec.model import ModelSpec
from training.torch_options import UnsupportedOption, torch_keywords

Shape = tuple[int, ...]
LayerBuilder = Callable[[LayerBase, Shape], nn.Module]
# two samples, so a layer that mixes up the batch dimension shows it
PROBE_BATCH = 2
# nn.Sequential refuses a child whose name is one of its own attributes
_SEQUENTIAL_ATTRIBUTES = frozenset(dir(nn.Sequential()))


class LayerShapeError(ValueError):
    """A layer cannot be built where it stands: the shape it receives does not fit it."""

    def __init__(self, index: int, name: str, layer_type: str, problem: str) -> None:
        super().__init__(f"layer {index} '{name}' ({layer_type}): {problem}")
        self.index = index
        self.name = name
        self.layer_type = layer_type
        self._problem = problem

    def __reduce__(self) -> tuple[type["LayerShapeError"], tuple[int, str, str, str]]:
        return type(self), (self.index, self.name, self.layer_type, self._problem)


class _Unfit(ValueError):
    """Why a layer does not fit, before the layer's index and name are added."""


class Reshape(nn.Module):
    """Reshape each sample to target_shape and keep the batch dimension, like Keras' Reshape."""

    def __init__(self, target_shape: Sequence[int]) -> None:
        super().__init__()
        self.target_shape = tuple(target_shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(x.shape[0], *self.target_shape)

    def extra_repr(self) -> str:
        return f"target_shape={self.target_shape}"


def _kwargs(spec: LayerBase, layer_class: Callable[..., nn.Module]) -> dict[str, Any]:
    return torch_keywords(spec, layer_class, spec.model_dump(exclude={"type", "name"}))


def _as_is(layer_class: Callable[..., nn.Module]) -> LayerBuilder:
    """A layer whose arguments are all in its spec."""
    return lambda spec, _in_shape: layer_class(**_kwargs(spec, layer_class))


def _on_features(layer_class: Callable[..., nn.Module]) -> LayerBuilder:
    """A layer whose first argument is the size of the last dimension (in_features)."""
    return lambda spec, in_shape: layer_class(in_shape[-1], **_kwargs(spec, layer_class))


def _on_channels(layer_class: Callable[..., nn.Module]) -> LayerBuilder:
    """A layer whose first argument is the number of channels (dimension 1 of the batch)."""
    return lambda spec, in_shape: layer_class(in_shape[0], **_kwargs(spec, layer_class))


def _group_norm(spec: LayerBase, in_shape: Shape) -> nn.Module:
    return nn.GroupNorm(num_channels=in_shape[0], **_kwargs(spec, nn.GroupNorm))


def _layer_norm(spec: LayerBase, in_shape: Shape) -> nn.Module:
    assert isinstance(spec, LayerNormSpec)
    kwargs = _kwargs(spec, nn.LayerNorm)
    if spec.normalized_shape is None:
        kwargs["normalized_shape"] = list(in_shape)
    return nn.LayerNorm(**kwargs)


def _softmax(layer_class: Callable[..., nn.Module]) -> LayerBuilder:
    """Softmax or LogSoftmax, with dim null meaning 1 and checked here: meta tensors skip it."""

    def build(spec: LayerBase, in_shape: Shape) -> nn.Module:
        assert isinstance(spec, SoftmaxSpec | LogSoftmaxSpec)
        dim = 1 if spec.dim is None else spec.dim
        rank = len(in_shape) + 1
        if not -rank <= dim < rank:
            raise IndexError(f"dim {dim} is out of range for a batch of {rank} dimensions")
        return layer_class(dim=dim)

    return build


def _reshape(spec: LayerBase, in_shape: Shape) -> nn.Module:
    assert isinstance(spec, ReshapeSpec)
    size = math.prod(in_shape)
    known = math.prod(dim for dim in spec.target_shape if dim != -1)
    fits = size % known == 0 if -1 in spec.target_shape else known == size
    if not fits:
        raise _Unfit(f"cannot reshape {in_shape} ({size} values) to {tuple(spec.target_shape)}")
    return Reshape(spec.target_shape)


LAYERS: Registry[LayerBase, LayerBuilder] = Registry(
    "layer",
    {
        LinearSpec: _on_features(nn.Linear),
        Conv1dSpec: _on_channels(nn.Conv1d),
        Conv2dSpec: _on_channels(nn.Conv2d),
        MaxPool1dSpec: _as_is(nn.MaxPool1d),
        MaxPool2dSpec: _as_is(nn.MaxPool2d),
        AvgPool1dSpec: _as_is(nn.AvgPool1d),
        AvgPool2dSpec: _as_is(nn.AvgPool2d),
        AdaptiveAvgPool2dSpec: _as_is(nn.AdaptiveAvgPool2d),
        FlattenSpec: _as_is(nn.Flatten),
        UnflattenSpec: _as_is(nn.Unflatten),
        ReshapeSpec: _reshape,
        DropoutSpec: _as_is(nn.Dropout),
        Dropout2dSpec: _as_is(nn.Dropout2d),
        BatchNorm1dSpec: _on_channels(nn.BatchNorm1d),
        BatchNorm2dSpec: _on_channels(nn.BatchNorm2d),
        LayerNormSpec: _layer_norm,
        GroupNormSpec: _group_norm,
        InstanceNorm1dSpec: _on_channels(nn.InstanceNorm1d),
        InstanceNorm2dSpec: _on_channels(nn.InstanceNorm2d),
        EmbeddingSpec: _as_is(nn.Embedding),
        IdentitySpec: _as_is(nn.Identity),
        ReLUSpec: _as_is(nn.ReLU),
        LeakyReLUSpec: _as_is(nn.LeakyReLU),
        PReLUSpec: _as_is(nn.PReLU),
        ELUSpec: _as_is(nn.ELU),
        GELUSpec: _as_is(nn.GELU),
        SELUSpec: _as_is(nn.SELU),
        SiLUSpec: _as_is(nn.SiLU),
        SigmoidSpec: _as_is(nn.Sigmoid),
        TanhSpec: _as_is(nn.Tanh),
        SoftmaxSpec: _softmax(nn.Softmax),
        LogSoftmaxSpec: _softmax(nn.LogSoftmax),
        SoftplusSpec: _as_is(nn.Softplus),
        HardtanhSpec: _as_is(nn.Hardtanh),
    },
)


def module_device(module: nn.Module) -> torch.device:
    """Where the module's tensors live: meta for a network from build_meta_network."""
    for tensor in [*module.parameters(), *module.buffers()]:
        return tensor.device
    return torch.device("cpu")


def sample_batch(network: nn.Module, sample_shape: Shape, device: torch.device) -> torch.Tensor:
    """PROBE_BATCH zero samples; integer indices when the network starts with an Embedding."""
    first = next((m for m in network.modules() if not any(m.children())), network)
    dtype = torch.int64 if isinstance(first, nn.Embedding) else torch.float32
    return torch.zeros((PROBE_BATCH, *sample_shape), dtype=dtype, device=device)


@contextmanager
def probing(module: nn.Module) -> Iterator[None]:
    """Eval mode without autograd, so a probe draws no random number (Dropout is off)."""
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        module.train(was_training)


def _probe(module: nn.Module, in_shape: Shape, device: torch.device) -> torch.Tensor:
    with probing(module):
        out: torch.Tensor = module(sample_batch(module, in_shape, device))
    return out


def output_shape(module: nn.Module, in_shape: Shape) -> Shape:
    """The per-sample output shape, probed in eval mode so no random number is drawn."""
    return tuple(_probe(module, in_shape, module_device(module)).shape[1:])


def _layout_problem(spec: LayerBase, in_shape: Shape) -> str | None:
    layouts = spec.input_layouts
    if not layouts or any(len(layout) == len(in_shape) for layout in layouts):
        return None
    wanted = " or ".join(str(layout).replace("'", "") for layout in layouts)
    problem = f"needs input {wanted}, got {in_shape}"
    if len(in_shape) > max(len(layout) for layout in layouts):
        return f"{problem}; put a Flatten before it"
    return f"{problem}; put an Unflatten or Reshape before it"


def _meta_layer(spec: LayerBase, name: str, in_shape: Shape) -> tuple[nn.Module, torch.Tensor]:
    """The layer on the meta device and its probe's output; ValueError if it cannot be built."""
    if problem := _layout_problem(spec, in_shape):
        raise _Unfit(problem)
    if name in _SEQUENTIAL_ATTRIBUTES:
        raise _Unfit(f"the name {name!r} is taken by nn.Sequential itself; choose another")
    meta = torch.device("meta")
    try:
        with meta:
            module = LAYERS.builder(spec)(spec, in_shape)
        out = _probe(module, in_shape, meta)
    except _Unfit:
        raise
    except UnsupportedOption as error:
        raise _Unfit(str(error)) from error
    except (RuntimeError, ValueError, IndexError) as error:
        message = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
        raise _Unfit(f"cannot take input {in_shape}: {message}") from error
    if out.dim() < 2 or out.shape[0] != PROBE_BATCH:
        raise _Unfit(f"mixes up the batch dimension: input {in_shape}, output {tuple(out.shape)}")
    if 0 in out.shape:
        raise _Unfit(f"gives an empty output {tuple(out.shape[1:])} from input {in_shape}")
    return module, out


@dataclass(frozen=True)
class MetaProbe:
    """A network built on the meta device, layer by layer, with what probing each layer showed."""

    network: nn.Sequential
    # the per-sample shapes between the layers: len(layers) + 1 of them, the input's first
    shapes: tuple[Shape, ...]
    # the last layer's output for PROBE_BATCH samples: what the whole network gives, on meta
    output: torch.Tensor


def probe_meta_network(spec: ModelSpec, sample_shape: Shape) -> MetaProbe:
    """Every layer on the meta device, each probed once with the shape the previous one gives.

    Raises LayerShapeError naming the first layer that cannot take the shape it receives.
    """
    modules: list[nn.Module] = []
    shapes = [tuple(sample_shape)]
    out = torch.empty((PROBE_BATCH, *sample_shape), device="meta")
    names = spec.layer_names()
    for index, (name, layer) in enumerate(zip(names, spec.layers, strict=True)):
        try:
            module, out = _meta_layer(layer, name, shapes[-1])
        except _Unfit as unfit:
            raise LayerShapeError(index, name, spec_type(layer), str(unfit)) from unfit.__cause__
        modules.append(module)
        shapes.append(tuple(out.shape[1:]))
    network = nn.Sequential(OrderedDict(zip(names, modules, strict=True)))
    return MetaProbe(network, tuple(shapes), out)


def build_meta_network(spec: ModelSpec, sample_shape: Shape) -> nn.Sequential:
    """The network on the meta device: shapes and parameter counts, no storage, no random draws.

    Raises LayerShapeError naming the first layer that cannot take the shape it receives.
    """
    return probe_meta_network(spec, sample_shape).network


def network_output_shape(spec: ModelSpec, sample_shape: Shape) -> Shape:
    """The per-sample output shape, checked on the meta device: cheap for a big network.

    Raises LayerShapeError naming the first layer that cannot take the shape it receives.
    """
    return probe_meta_network(spec, sample_shape).shapes[-1]


# a worker builds the same architecture again and again (sweeps, resumes, clones), and probing
# on the meta device costs milliseconds a layer
_SHAPES: CheckCache[tuple[Shape, ...]] = CheckCache(256)


def layer_shapes(spec: ModelSpec, sample_shape: Shape) -> tuple[Shape, ...]:
    """probe_meta_network's shapes, kept by architecture and input shape."""
    key = f"{spec.model_dump_json()}|{tuple(sample_shape)}"
    return _SHAPES.get(key, lambda: probe_meta_network(spec, sample_shape).shapes)


def build_network(spec: ModelSpec, sample_shape: Shape) -> nn.Sequential:
    """Layers in spec order, named like the spec (or "0", "1", ... as nn.Sequential does).

    Callers seed torch right before this call. Shapes are checked first on the meta device, which
    draws no random number (LayerShapeError names a layer that does not fit). Then each layer is
    built on the CPU in spec order, drawing its parameters exactly as a hand-written nn.Sequential
    of the same layers would. Last, spec.init runs: rule by rule in order, each over the layers
    it selects in network order, weight before bias, each initialiser drawing from torch's
    global generator.
    """
    shapes = layer_shapes(spec, sample_shape)
    names = spec.layer_names()
    network = nn.Sequential(
        OrderedDict(
            (name, LAYERS.builder(layer)(layer, shape))
            for name, layer, shape in zip(names, spec.layers, shapes[:-1], strict=True)
        )
    )
    apply_init(network, spec)
    return network
