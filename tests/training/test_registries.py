"""Each spec union equals its registry, and spec defaults equal torch's signature defaults."""

import inspect
from typing import Any

import pytest
import torch
from pydantic import BaseModel
from torch import nn

from training.build.data import DATASETS
from training.build.init import INITIALIZERS
from training.build.losses import LOSSES
from training.build.networks import LAYERS
from training.build.optimizers import OPTIMIZERS
from training.build.schedulers import SCHEDULERS
from training.catalog import spec_classes
from training.registry import Registry
from training.spec.data import DatasetSpec
from training.spec.init import InitializerSpec
from training.spec.layers import LayerSpec
from training.spec.losses import LossSpec
from training.spec.optimizers import OptimizerSpec
from training.spec.schedulers import SchedulerSpec
from training.torch_options import GRADQ_FIELDS

UNIONS: list[tuple[Any, Registry[Any, Any]]] = [
    (LayerSpec, LAYERS),
    (LossSpec, LOSSES),
    (OptimizerSpec, OPTIMIZERS),
    (SchedulerSpec, SCHEDULERS),
    (InitializerSpec, INITIALIZERS),
    (DatasetSpec, DATASETS),
]
TORCH_NAMESPACES = (nn, torch.optim, torch.optim.lr_scheduler, nn.init)
# gradq's own types, with no torch class of that name
NOT_TORCH = {
    "Reshape",
    "Lookahead",
    "Ranger",
    "PiecewiseConstantDecay",
    "ExponentialDecay",
    "InverseTimeDecay",
}
# torch defaults that gradq infers from the data instead
INFERRED = {("LayerNorm", "normalized_shape")}


@pytest.mark.parametrize(("union", "registry"), UNIONS, ids=lambda v: getattr(v, "kind", ""))
def test_union_and_registry_list_the_same_specs(union: Any, registry: Registry[Any, Any]) -> None:
    assert set(spec_classes(union)) == set(registry.spec_classes())


def _type(spec_class: type[BaseModel]) -> str:
    return str(spec_class.model_fields["type"].default)


def _torch_object(spec_class: type[BaseModel]) -> Any:
    for namespace in TORCH_NAMESPACES:
        if hasattr(namespace, _type(spec_class)):
            return getattr(namespace, _type(spec_class))
    raise AssertionError(f"{_type(spec_class)} is not a torch class or function")


TORCH_SPECS = sorted(
    (cls for union, _ in UNIONS[:5] for cls in spec_classes(union) if _type(cls) not in NOT_TORCH),
    key=lambda c: c.__name__,
)


def test_every_torch_spec_is_checked() -> None:
    names = {_type(cls) for union, _ in UNIONS[:5] for cls in spec_classes(union)}
    assert names >= NOT_TORCH
    assert len(TORCH_SPECS) + len(NOT_TORCH) == len(names)


@pytest.mark.parametrize("spec_class", TORCH_SPECS, ids=lambda c: c.__name__)
def test_spec_fields_and_defaults_match_torch(spec_class: type[BaseModel]) -> None:
    torch_object = _torch_object(spec_class)
    target = torch_object.__init__ if inspect.isclass(torch_object) else torch_object
    signature = inspect.signature(target)
    for field_name, field in spec_class.model_fields.items():
        if field_name in GRADQ_FIELDS or (_type(spec_class), field_name) in INFERRED:
            continue
        name = field.alias or field_name
        assert name in signature.parameters, f"{name} is no torch parameter"
        default = signature.parameters[name].default
        if field.is_required():
            assert default is inspect.Parameter.empty, f"{name} has a default in torch"
        else:
            assert field.default == default, f"{spec_class.__name__}.{name}"
