"""Fault tests start and kill real processes: an API, Celery workers, Redis, a database proxy."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.cluster import PrivateRedis


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()
