"""The catalogue of spec types, generated from the spec classes themselves."""

import re
import typing
from typing import Any

import torch
from pydantic import BaseModel, Field

from training.spec.data import DatasetSpec
from training.spec.init import InitializerSpec
from training.spec.layers import LayerSpec
from training.spec.losses import LossSpec
from training.spec.optimizers import OptimizerSpec
from training.spec.schedulers import SchedulerSpec

KINDS: dict[str, Any] = {
    "layers": LayerSpec,
    "losses": LossSpec,
    "optimizers": OptimizerSpec,
    "schedulers": SchedulerSpec,
    "initializers": InitializerSpec,
    "datasets": DatasetSpec,
}


class ParameterInfo(BaseModel):
    name: str
    required: bool
    default: Any = None
    json_schema: dict[str, Any] = Field(description="JSON Schema of the value")


class EntryInfo(BaseModel):
    type: str
    description: str
    parameters: list[ParameterInfo]


def spec_classes(union: Any) -> list[type[BaseModel]]:
    """The member classes of an Annotated discriminated union (or a single class)."""
    inner = typing.get_args(union)[0] if typing.get_origin(union) is typing.Annotated else union
    return list(typing.get_args(inner)) or [inner]


TORCH_NAMESPACES = (torch.nn, torch.optim, torch.optim.lr_scheduler, torch.nn.init)


def _first_sentence(doc: str) -> str:
    text = " ".join(doc.strip().split("\n\n")[0].split())
    text = re.sub(r":\w+:`~?([^`]+)`", r"\1", text).replace("``", "")
    return text.split(". ")[0].rstrip(".") + "."


def _description(spec_class: type[BaseModel]) -> str:
    """The spec's own docstring, else the first sentence of the torch object's docstring."""
    if spec_class.__doc__:
        return spec_class.__doc__.strip().splitlines()[0]
    name = spec_class.model_fields["type"].default
    for namespace in TORCH_NAMESPACES:
        torch_object = getattr(namespace, name, None)
        if torch_object is not None and torch_object.__doc__:
            return _first_sentence(torch_object.__doc__)
    return str(name)


def describe(spec_class: type[BaseModel]) -> EntryInfo:
    """One spec class as data: its type name, one-line description and parameters."""
    properties = spec_class.model_json_schema()["properties"]
    parameters = [
        ParameterInfo(
            name=field.alias or name,
            required=field.is_required(),
            default=None if field.is_required() else field.get_default(call_default_factory=True),
            json_schema=properties.get(field.alias or name, {}),
        )
        for name, field in spec_class.model_fields.items()
        if name != "type"
    ]
    name = spec_class.model_fields["type"].default
    return EntryInfo(type=name, description=_description(spec_class), parameters=parameters)


def catalog() -> dict[str, list[EntryInfo]]:
    """Every kind's entries, in declaration order."""
    return {kind: [describe(cls) for cls in spec_classes(union)] for kind, union in KINDS.items()}
