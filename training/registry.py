"""Closed registries: an explicit map from spec class to the function that builds it."""

from collections.abc import Callable, Mapping
from typing import Generic, TypeVar

from pydantic import BaseModel

SpecT = TypeVar("SpecT", bound=BaseModel)
BuilderT = TypeVar("BuilderT", bound=Callable[..., object])


class Registry(Generic[SpecT, BuilderT]):
    """One kind's entries; the spec union and this map are two views of one list."""

    def __init__(self, kind: str, entries: Mapping[type[SpecT], BuilderT]) -> None:
        self.kind = kind
        self._entries = dict(entries)

    def spec_classes(self) -> list[type[SpecT]]:
        return list(self._entries)

    def names(self) -> list[str]:
        return [spec_class.model_fields["type"].default for spec_class in self._entries]

    def builder(self, spec: SpecT) -> BuilderT:
        try:
            return self._entries[type(spec)]
        except KeyError:
            raise LookupError(f"no {self.kind} builder for {type(spec).__name__}") from None
