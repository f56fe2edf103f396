"""An API process checks one spec and settles its heap before it takes a request."""

import gc
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from training.checks import FINDINGS


@pytest.fixture
def unfrozen() -> Iterator[None]:
    FINDINGS.clear()
    gc.unfreeze()
    yield
    FINDINGS.clear()


@pytest.mark.usefixtures("unfrozen")
def test_start_up_checks_a_spec_and_freezes_the_heap() -> None:
    assert (len(FINDINGS), gc.get_freeze_count()) == (0, 0)
    with TestClient(create_app()) as client:
        # the meta-device check has run once: the first submission finds its kernels loaded
        assert len(FINDINGS) == 1
        assert gc.get_freeze_count() > 0
        assert client.get("/livez").status_code == 200
