"""What a spec can say: every type of every kind with its parameters, and lr previews."""

from functools import lru_cache
from typing import Literal

from fastapi import APIRouter

from api.errors import error_responses
from api.schemas.catalog import SchedulePreviewCreate
from core.errors import NotAuthenticated, RequestRejected
from training.catalog import EntryInfo, catalog
from training.preview import LrPreview, preview_lr

router = APIRouter(tags=["catalog"], responses=error_responses(NotAuthenticated))

Kind = Literal["layers", "losses", "optimizers", "schedulers", "initializers", "datasets"]


@lru_cache
def _catalog() -> dict[str, list[EntryInfo]]:
    return catalog()


@router.get("/catalog", response_model=dict[str, list[EntryInfo]])
def read_catalog() -> dict[str, list[EntryInfo]]:
    """Every layer, loss, optimizer, schedule, initialiser and data set type."""
    return _catalog()


@router.get("/catalog/{kind}", response_model=list[EntryInfo])
def read_catalog_kind(kind: Kind) -> list[EntryInfo]:
    """The types of one kind."""
    return _catalog().get(kind, [])


@router.post(
    "/schedules/preview", response_model=LrPreview, responses=error_responses(RequestRejected)
)
def preview_schedule(body: SchedulePreviewCreate) -> LrPreview:
    """The lr after every epoch (and batch, for per-batch schedules), without training."""
    try:
        return preview_lr(
            body.optimizer, body.scheduler, epochs=body.epochs, steps_per_epoch=body.steps_per_epoch
        )
    except ValueError as exc:
        raise RequestRejected(str(exc)) from exc
