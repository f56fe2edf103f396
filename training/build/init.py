"""Weight initialisers from initialiser specs, and the model's initialisation rules."""

from collections.abc import Callable

import torch
from torch import nn

from training.registry import Registry
from training.spec.init import (
    ConstantSpec,
    InitializerBase,
    KaimingNormalSpec,
    KaimingUniformSpec,
    NormalSpec,
    OnesSpec,
    OrthogonalSpec,
    TruncNormalSpec,
    UniformSpec,
    XavierNormalSpec,
    XavierUniformSpec,
    ZerosSpec,
    spec_type,
)
from training.spec.model import ModelSpec
from training.torch_options import torch_keywords

InitFunction = Callable[..., torch.Tensor]

INITIALIZERS: Registry[InitializerBase, InitFunction] = Registry(
    "initializer",
    {
        NormalSpec: nn.init.normal_,
        UniformSpec: nn.init.uniform_,
        ConstantSpec: nn.init.constant_,
        ZerosSpec: nn.init.zeros_,
        OnesSpec: nn.init.ones_,
        XavierUniformSpec: nn.init.xavier_uniform_,
        XavierNormalSpec: nn.init.xavier_normal_,
        KaimingUniformSpec: nn.init.kaiming_uniform_,
        KaimingNormalSpec: nn.init.kaiming_normal_,
        OrthogonalSpec: nn.init.orthogonal_,
        TruncNormalSpec: nn.init.trunc_normal_,
    },
)


def initialize(spec: InitializerBase, tensor: torch.Tensor) -> None:
    """Fill tensor in place with the torch.nn.init function the spec names, drawing from torch's
    global generator."""
    function = INITIALIZERS.builder(spec)
    function(tensor, **torch_keywords(spec, function, spec.model_dump(exclude={"type"})))


def apply_init(network: nn.Sequential, spec: ModelSpec) -> None:
    """Run spec.init on a network built from spec.

    Rule by rule in order, so a later rule overrides an earlier one; within a rule, the layers it
    selects in network order, weight before bias. A layer a rule selects by type but that lacks
    the parameter (a Linear with bias=False) is skipped for that parameter.
    """
    layers = list(zip(spec.layer_names(), spec.layers, strict=True))
    for rule in spec.init:
        for name, layer in layers:
            if not rule.selects(name, spec_type(layer)):
                continue
            module = network.get_submodule(name)
            for param, init in rule.targets():
                tensor = getattr(module, param, None)
                if isinstance(tensor, torch.Tensor):
                    initialize(init, tensor)
