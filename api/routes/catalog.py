"""What a spec can say: every type of every kind, with its parameters."""

from functools import lru_cache
from typing import Literal

from fastapi import APIRouter

from api.errors import error_responses
from core.errors import NotAuthenticated
from training.catalog import EntryInfo, catalog

router = APIRouter(prefix="/catalog", tags=["catalog"], responses=error_responses(NotAuthenticated))

Kind = Literal["layers", "losses", "optimizers", "schedulers", "initializers", "datasets"]


@lru_cache
def _catalog() -> dict[str, list[EntryInfo]]:
    return catalog()


@router.get("", response_model=dict[str, list[EntryInfo]])
def read_catalog() -> dict[str, list[EntryInfo]]:
    """Every layer, loss, optimizer, schedule, initialiser and data set type."""
    return _catalog()


@router.get("/{kind}", response_model=list[EntryInfo])
def read_catalog_kind(kind: Kind) -> list[EntryInfo]:
    """The types of one kind."""
    return _catalog().get(kind, [])
