"""What an API process does once, before it takes its first request."""

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api.spec_checks import check_spec
from training.spec import TrainingSpec

# the smallest spec that goes through every submission check
_TINY_SPEC = {
    "dataset": {"type": "moons", "n_samples": 8},
    "model": {"layers": [{"type": "Linear", "out_features": 2}]},
    "loss": {"type": "CrossEntropyLoss"},
    "optimizer": {"type": "SGD", "lr": 0.1},
    "training": {"epochs": 1},
}


def warm_up() -> None:
    """Check one spec, then settle the heap.

    The first network built on the meta device loads torch's meta kernels, about a second on an
    idle machine and several on a busy one: paid here, not by the first submission. Then
    everything built so far moves out of the garbage collector's way (gc.freeze), so the full
    collections that requests trigger later walk only what requests allocate.
    """
    check_spec(TrainingSpec.model_validate(_TINY_SPEC))
    gc.collect()
    gc.freeze()


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    warm_up()
    yield
