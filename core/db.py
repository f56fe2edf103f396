"""Engines and sessions: one engine per database URL, SQLite tuned for two writing processes."""

import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry

from core.settings import get_settings

SQLITE_BUSY_TIMEOUT_MS = 30_000
# a pooled connection idle this long is tested before use; a busy one is not (see _ping_idle)
IDLE_PING_SECONDS = 10.0
POOL_RECYCLE_SECONDS = 1800


def _tune_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # The API and the worker write the same file: WAL lets readers run beside the writer,
    # and the busy timeout makes a writer wait for the lock instead of failing.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _ping_idle(engine: Engine) -> None:
    """Test a pooled connection on checkout only when it sat idle for IDLE_PING_SECONDS.

    pool_pre_ping costs a round trip on every checkout, one per request. A connection in steady
    use is known to be alive; one that sat idle may have been dropped by a server restart or a
    proxy, and a failed test makes the pool replace it (DisconnectionError), so the request
    still gets a live connection, or the connect error when the database is away.
    """

    def stamp(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info["returned_at"] = time.monotonic()

    def test(dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
        returned_at = record.info.get("returned_at")
        if returned_at is None or time.monotonic() - returned_at < IDLE_PING_SECONDS:
            return  # new, or in steady use
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as exc:
            raise DisconnectionError(str(exc)) from exc
        if not alive:
            raise DisconnectionError("the idle connection failed its test")

    event.listen(engine, "checkin", stamp)
    event.listen(engine, "checkout", test)


def database_unavailable(exc: DBAPIError) -> bool:
    """The database could not be reached, or this connection was ended (the pool has dropped
    it, e.g. after the server's idle-in-transaction timeout): worth trying again."""
    return isinstance(exc, OperationalError) or exc.connection_invalidated


def _postgresql_options() -> dict[str, str]:
    idle_ms = round(get_settings().DB_IDLE_IN_TRANSACTION_SECONDS * 1000)
    return {"options": f"-c idle_in_transaction_session_timeout={idle_ms}"}


def make_engine(url: str) -> Engine:
    """An engine for url; SQLite files get WAL, a busy timeout and foreign keys; PostgreSQL
    sessions end when left idle in a transaction (DB_IDLE_IN_TRANSACTION_SECONDS)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        connect_args = _postgresql_options() if parsed.get_backend_name() == "postgresql" else {}
        engine = create_engine(url, pool_recycle=POOL_RECYCLE_SECONDS, connect_args=connect_args)
        _ping_idle(engine)
        return engine
    if parsed.database:
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url, connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
    )
    event.listen(engine, "connect", _tune_sqlite)
    return engine


@lru_cache
def get_engine(url: str | None = None) -> Engine:
    """The shared engine for url (default: the configured database)."""
    return make_engine(url or get_settings().database_url)


def session_factory(engine: Engine | None = None) -> sessionmaker[Session]:
    return sessionmaker(bind=engine or get_engine(), expire_on_commit=False)


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """A short transaction: commit on success, roll back on error."""
    with session_factory(engine)() as session, session.begin():
        yield session
