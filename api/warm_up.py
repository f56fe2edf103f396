"""What an API process does once, before it takes its first request."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api.spec_checks import check_spec
from training.spec import TrainingSpec
from training.warm_up import TINY_SPEC, settle_heap


def warm_up() -> None:
    """Check one spec, then settle the heap.

    The first network built on the meta device loads torch's meta kernels, about a second on an
    idle machine and several on a busy one: paid here, not by the first submission.
    """
    check_spec(TrainingSpec.model_validate(TINY_SPEC))
    settle_heap()


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    warm_up()
    yield
