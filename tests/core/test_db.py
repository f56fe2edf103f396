"""PostgreSQL engines: a pooled connection is tested only after idling, and replaced if dead."""

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from core import db
from core.db import make_engine
from core.settings import get_settings


@pytest.fixture
def engine(postgres_url: str) -> Iterator[Engine]:
    engine = make_engine(postgres_url)
    yield engine
    engine.dispose()


@pytest.fixture
def pings(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Each test of a pooled connection, with its answer."""
    answers: list[bool] = []
    original = engine.dialect.do_ping

    def counted(dbapi_connection: Any) -> bool:
        try:
            alive = original(dbapi_connection)
        except Exception:
            answers.append(False)
            raise
        answers.append(alive)
        return alive

    monkeypatch.setattr(engine.dialect, "do_ping", counted)
    return answers


def _backend_pid(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(text("SELECT pg_backend_pid()")))


def test_a_connection_in_steady_use_is_not_tested(engine: Engine, pings: list[bool]) -> None:
    pids = {_backend_pid(engine) for _ in range(5)}
    assert len(pids) == 1  # the same pooled connection each time
    assert pings == []


def test_an_idle_connection_killed_by_the_server_is_replaced(
    engine: Engine, pings: list[bool], postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    killed = _backend_pid(engine)
    with make_engine(postgres_url).connect() as other:
        assert other.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": killed})
    monkeypatch.setattr(db, "IDLE_PING_SECONDS", 0.0)  # as if it sat idle
    assert _backend_pid(engine) != killed  # the request still gets a live connection
    assert pings == [False]


def test_a_live_idle_connection_passes_its_test(
    engine: Engine, pings: list[bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _backend_pid(engine)
    monkeypatch.setattr(db, "IDLE_PING_SECONDS", 0.0)
    assert _backend_pid(engine) == first
    assert pings == [True]


def test_a_session_left_idle_in_a_transaction_is_ended_and_frees_its_row_locks(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRADQ_DB_IDLE_IN_TRANSACTION_SECONDS", "0.5")
    get_settings.cache_clear()
    stalled, other = make_engine(postgres_url), make_engine(postgres_url)
    get_settings.cache_clear()
    with other.begin() as connection:
        connection.execute(text("CREATE TABLE idle_lock_probe (id int PRIMARY KEY, v int)"))
        connection.execute(text("INSERT INTO idle_lock_probe VALUES (1, 0)"))
    try:
        with stalled.connect() as frozen:
            frozen.begin()
            frozen.execute(text("UPDATE idle_lock_probe SET v = 1 WHERE id = 1"))
            # the holder stops here, as a stopped process would; the server ends its session
            with other.begin() as connection:
                connection.execute(text("SET LOCAL lock_timeout = '10s'"))
                connection.execute(text("UPDATE idle_lock_probe SET v = 2 WHERE id = 1"))
            with pytest.raises(DBAPIError) as ended:
                frozen.execute(text("SELECT 1"))
            assert ended.value.connection_invalidated, "the pool drops the ended session"
        with other.connect() as connection:
            assert connection.scalar(text("SELECT v FROM idle_lock_probe")) == 2
    finally:
        with other.begin() as connection:
            connection.execute(text("DROP TABLE idle_lock_probe"))
        stalled.dispose()
        other.dispose()
