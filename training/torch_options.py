"""Spec options against the torch installed here.

The catalogue follows the newest supported torch, and an older torch lacks some of its keywords
(BatchNorm's `bias`, for one). A spec that leaves such an option at its default asks for what that
torch does anyway, so the keyword is left out of the call; a spec that sets it is refused, naming
the field, because dropping it would train a different network than the one asked for.
"""

import inspect
from collections.abc import Callable, Iterator
from functools import cache
from typing import Any

import torch
from pydantic import BaseModel

from training.catalog import TORCH_NAMESPACES, spec_classes
from training.spec.init import InitializerSpec
from training.spec.layers import LayerSpec
from training.spec.losses import LossSpec
from training.spec.optimizers import OptimizerSpec
from training.spec.schedulers import SchedulerSpec

Loc = tuple[str | int, ...]
# spec fields that are gradq's own, never keywords of the torch object
GRADQ_FIELDS = frozenset(
    {"type", "name", "interval", "param_groups", "no_decay_on_bias", "monitor"}
)
# the spec classes whose `type` names a torch object of these namespaces
_TORCH_BACKED = frozenset(
    spec_class
    for union in (LayerSpec, LossSpec, OptimizerSpec, SchedulerSpec, InitializerSpec)
    for spec_class in spec_classes(union)
)


class UnsupportedOption(ValueError):
    """A spec sets an option the torch installed here does not have."""

    def __init__(self, spec_type: str, field: str) -> None:
        super().__init__(
            f"{spec_type}.{field} needs a newer torch than this server's {torch.__version__}; "
            "leave it out or at its default"
        )
        self.spec_type = spec_type
        self.field = field

    def __reduce__(self) -> tuple[type["UnsupportedOption"], tuple[str, str]]:
        return type(self), (self.spec_type, self.field)


def _type_name(spec: BaseModel) -> str:
    return str(getattr(spec, "type", type(spec).__name__))


@cache
def accepted_keywords(target: Callable[..., Any]) -> frozenset[str] | None:
    """The keyword names target takes; None when it takes any (**kwargs) or has no signature."""
    try:
        parameters = inspect.signature(target).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(parameter.kind is inspect.Parameter.VAR_KEYWORD for parameter in parameters):
        return None
    return frozenset(parameter.name for parameter in parameters)


def _at_default(spec: BaseModel, name: str) -> bool:
    field = type(spec).model_fields[name]
    if field.is_required():
        return False
    default = type(spec).model_construct().model_dump(mode="json", include={name})
    return spec.model_dump(mode="json", include={name}) == default


def _set_but_missing(spec: BaseModel, names: set[str], accepted: frozenset[str]) -> list[str]:
    """Of names, the spec fields not accepted and set by the spec to a non-default value."""
    fields = type(spec).model_fields
    return sorted(
        name
        for name in names - accepted
        if name in fields and name not in GRADQ_FIELDS and not _at_default(spec, name)
    )


def torch_keywords(
    spec: BaseModel, target: Callable[..., Any], keywords: dict[str, Any]
) -> dict[str, Any]:
    """keywords without the defaulted spec options target lacks.

    Raises UnsupportedOption for one the spec sets: the worker's torch may be older than the API's.
    """
    accepted = accepted_keywords(target)
    if accepted is None:
        return keywords
    missing = _set_but_missing(spec, set(keywords), accepted)
    if missing:
        raise UnsupportedOption(_type_name(spec), missing[0])
    fields = type(spec).model_fields
    return {k: v for k, v in keywords.items() if k in accepted or k not in fields}


def _torch_object(spec: BaseModel) -> Callable[..., Any] | None:
    if type(spec) not in _TORCH_BACKED:
        return None
    name = _type_name(spec)
    for namespace in TORCH_NAMESPACES:
        found: Callable[..., Any] | None = getattr(namespace, name, None)
        if callable(found):
            return found
    return None  # one of gradq's own types


def _specs(value: Any, loc: Loc) -> Iterator[tuple[BaseModel, Loc]]:
    """Every spec model inside value (itself included), with where it sits."""
    if isinstance(value, BaseModel):
        yield value, loc
        for name in type(value).model_fields:
            yield from _specs(getattr(value, name), (*loc, name))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _specs(item, (*loc, index))


def unsupported_options(spec: BaseModel) -> list[tuple[Loc, str]]:
    """(loc, message) for each option the spec sets that the torch installed here lacks."""
    found = []
    for part, loc in _specs(spec, ()):
        target = _torch_object(part)
        accepted = None if target is None else accepted_keywords(target)
        if accepted is None:
            continue
        for name in _set_but_missing(part, set(type(part).model_fields), accepted):
            found.append(((*loc, name), str(UnsupportedOption(_type_name(part), name))))
    return found
