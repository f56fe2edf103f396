"""Optimizers from optimizer specs, with parameter groups, no-decay-on-bias and Lookahead."""

from collections.abc import Callable
from typing import Any

import torch
from pydantic import BaseModel
from torch import nn

from training.build.lookahead import Lookahead
from training.registry import Registry
from training.spec.optimizers import (
    AdadeltaSpec,
    AdagradSpec,
    AdamaxSpec,
    AdamSpec,
    AdamWSpec,
    ASGDSpec,
    LBFGSSpec,
    LookaheadSpec,
    NAdamSpec,
    OptimizerBase,
    RAdamSpec,
    RangerSpec,
    RMSpropSpec,
    RpropSpec,
    SGDSpec,
)
from training.torch_options import torch_keywords

OptimizerBuilder = Callable[[BaseModel, nn.Module], torch.optim.Optimizer]
ParamGroup = dict[str, Any]
NamedParameters = list[tuple[str, nn.Parameter]]
# spec fields that are gradq's, not keywords of the torch optimizer
GRADQ_FIELDS = {"type", "param_groups", "no_decay_on_bias"}


def decays(name: str, param: torch.Tensor) -> bool:
    """Weight matrices and kernels decay; biases and 1-d (normalisation, PReLU) parameters not."""
    return name.endswith("weight") and param.dim() > 1


def _layer_parameters(network: nn.Module, layers: list[str]) -> NamedParameters:
    children = dict(network.named_children())
    unknown = [layer for layer in layers if layer not in children]
    if unknown:
        raise ValueError(f"parameter groups name unknown layers: {', '.join(unknown)}")
    return [
        (f"{layer}.{name}", param)
        for layer in layers
        for name, param in children[layer].named_parameters()
    ]


def parameter_groups(spec: OptimizerBase, network: nn.Module) -> list[ParamGroup]:
    """torch param groups: the default group, the spec's groups, then their no-decay twins.

    The default group holds every parameter of a layer no group names, in network order. Empty
    groups are kept so that lr/<index> means the same group for every network.
    """
    grouped = [_layer_parameters(network, group.layers) for group in spec.param_groups]
    taken = {id(param) for named in grouped for _, param in named}
    default = [(name, p) for name, p in network.named_parameters() if id(p) not in taken]
    options: list[dict[str, Any]] = [{}, *(group.options() for group in spec.param_groups)]
    named_groups = list(zip([default, *grouped], options, strict=True))
    if not spec.no_decay_on_bias:
        return [{"params": [p for _, p in named], **opts} for named, opts in named_groups]
    decayed = [
        {"params": [p for name, p in named if decays(name, p)], **opts}
        for named, opts in named_groups
    ]
    undecayed = [
        {"params": [p for name, p in named if not decays(name, p)], **opts, "weight_decay": 0.0}
        for named, opts in named_groups
    ]
    return decayed + undecayed


def hyperparameters(spec: BaseModel, *exclude: str) -> dict[str, Any]:
    """The spec's torch keywords."""
    return spec.model_dump(exclude=GRADQ_FIELDS | set(exclude))


def _torch(optimizer_class: Callable[..., torch.optim.Optimizer]) -> OptimizerBuilder:
    def build(spec: BaseModel, network: nn.Module) -> torch.optim.Optimizer:
        assert isinstance(spec, OptimizerBase)
        keywords = torch_keywords(spec, optimizer_class, hyperparameters(spec))
        return optimizer_class(parameter_groups(spec, network), **keywords)

    return build


def _lookahead(spec: BaseModel, network: nn.Module) -> torch.optim.Optimizer:
    assert isinstance(spec, LookaheadSpec)
    return Lookahead(build_optimizer(spec.optimizer, network), k=spec.k, alpha=spec.alpha)


def _ranger(spec: BaseModel, network: nn.Module) -> torch.optim.Optimizer:
    assert isinstance(spec, RangerSpec)
    radam = torch.optim.RAdam(
        parameter_groups(spec, network),
        **torch_keywords(spec, torch.optim.RAdam, hyperparameters(spec, "k", "alpha")),
        decoupled_weight_decay=True,
    )
    return Lookahead(radam, k=spec.k, alpha=spec.alpha)


OPTIMIZERS: Registry[BaseModel, OptimizerBuilder] = Registry(
    "optimizer",
    {
        SGDSpec: _torch(torch.optim.SGD),
        ASGDSpec: _torch(torch.optim.ASGD),
        RpropSpec: _torch(torch.optim.Rprop),
        AdamSpec: _torch(torch.optim.Adam),
        AdamWSpec: _torch(torch.optim.AdamW),
        AdamaxSpec: _torch(torch.optim.Adamax),
        NAdamSpec: _torch(torch.optim.NAdam),
        RAdamSpec: _torch(torch.optim.RAdam),
        AdadeltaSpec: _torch(torch.optim.Adadelta),
        AdagradSpec: _torch(torch.optim.Adagrad),
        RMSpropSpec: _torch(torch.optim.RMSprop),
        LBFGSSpec: _torch(torch.optim.LBFGS),
        LookaheadSpec: _lookahead,
        RangerSpec: _ranger,
    },
)


def build_optimizer(spec: BaseModel, network: nn.Module) -> torch.optim.Optimizer:
    """Args:
    spec: any member of OptimizerSpec.
    network: the built nn.Sequential; parameter groups find layers by its child names.
    """
    return OPTIMIZERS.builder(spec)(spec, network)
