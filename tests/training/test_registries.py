"""Each spec union equals its registry, and spec defaults equal torch's signature defaults."""

import inspect
import typing
from typing import Any

import pytest
import torch
from pydantic import BaseModel
from torch import nn

from training.build.data import DATASETS
from training.build.losses import LOSSES
from training.build.networks import LAYERS
from training.build.optimizers import OPTIMIZERS
from training.build.schedulers import SCHEDULERS
from training.registry import Registry
from training.spec.data import DatasetSpec
from training.spec.layers import LayerSpec
from training.spec.losses import LossSpec
from training.spec.optimizers import OptimizerSpec
from training.spec.schedulers import SchedulerSpec

UNIONS: list[tuple[Any, Registry[Any, Any]]] = [
    (LayerSpec, LAYERS),
    (LossSpec, LOSSES),
    (OptimizerSpec, OPTIMIZERS),
    (SchedulerSpec, SCHEDULERS),
    (DatasetSpec, DATASETS),
]
# fields gradq adds that are not torch keywords
GRADQ_FIELDS = {"type", "name", "interval"}


def _members(union: Any) -> set[type[BaseModel]]:
    inner = typing.get_args(union)[0]
    return set(typing.get_args(inner)) or {inner}


@pytest.mark.parametrize(("union", "registry"), UNIONS, ids=lambda v: getattr(v, "kind", ""))
def test_union_and_registry_list_the_same_specs(union: Any, registry: Registry[Any, Any]) -> None:
    assert _members(union) == set(registry.spec_classes())


def _torch_class(spec_class: type[BaseModel]) -> Any:
    name = spec_class.model_fields["type"].default
    for namespace in (nn, torch.optim, torch.optim.lr_scheduler):
        if hasattr(namespace, name):
            return getattr(namespace, name)
    raise AssertionError(f"{name} is not a torch class")


TORCH_SPECS = sorted(
    (cls for union, _ in UNIONS[:4] for cls in _members(union)), key=lambda c: c.__name__
)


@pytest.mark.parametrize("spec_class", TORCH_SPECS, ids=lambda c: c.__name__)
def test_spec_fields_and_defaults_match_torch(spec_class: type[BaseModel]) -> None:
    signature = inspect.signature(_torch_class(spec_class).__init__)
    for field_name, field in spec_class.model_fields.items():
        if field_name in GRADQ_FIELDS:
            continue
        assert field_name in signature.parameters, f"{field_name} is no torch parameter"
        default = signature.parameters[field_name].default
        if field.is_required():
            assert default is inspect.Parameter.empty, f"{field_name} has a default in torch"
        else:
            assert field.default == default, f"{spec_class.__name__}.{field_name}"
