"""Scratch databases for the benchmark: a migrated SQLite file, and PostgreSQL when reachable."""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import Engine

from core import jobs, users
from core.db import make_engine, session_scope
from core.migrate import upgrade_to_head
from tests.databases import ADMIN_DSN, postgres_database


def postgres_reachable() -> bool:
    """Whether the local PostgreSQL server (tests/databases.py's) accepts a connection."""
    try:
        with psycopg.connect(ADMIN_DSN, connect_timeout=2):
            return True
    except psycopg.OperationalError:
        return False


@contextmanager
def migrated(url: str) -> Iterator[Engine]:
    upgrade_to_head(url)
    engine = make_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()


@contextmanager
def sqlite_database(directory: Path) -> Iterator[Engine]:
    """A fresh SQLite file in directory, migrated to head."""
    with migrated(f"sqlite:///{directory / f'bench-{uuid.uuid4().hex[:8]}.db'}") as engine:
        yield engine


@contextmanager
def scratch_databases(directory: Path, *, postgres: bool = True) -> Iterator[dict[str, Engine]]:
    """{"sqlite": engine} plus "postgresql" when asked for and reachable; dropped afterwards."""
    with sqlite_database(directory) as sqlite:
        if not (postgres and postgres_reachable()):
            yield {"sqlite": sqlite}
            return
        with postgres_database() as url, migrated(url) as engine:
            yield {"sqlite": sqlite, "postgresql": engine}


def new_owned_job(engine: Engine, spec: dict[str, Any], epochs: int) -> tuple[uuid.UUID, str]:
    """A queued job to write metrics for, and its new owner's token."""
    with session_scope(engine) as session:
        user, token = users.create(session, name=f"bench-{uuid.uuid4().hex[:8]}")
        job = jobs.create(session, owner_id=user.id, name="bench", spec=spec, epochs=epochs)
        return job.id, token


def new_job(engine: Engine, spec: dict[str, Any], epochs: int) -> uuid.UUID:
    """A queued job (and its owner) to write metrics for."""
    return new_owned_job(engine, spec, epochs)[0]
