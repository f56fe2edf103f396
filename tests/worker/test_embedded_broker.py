"""The embedded broker polls as often as configured, cheaply, keeps no delivered message, and
still honours kombu's SQL options."""

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from queue import Empty

import pytest
from celery import Celery
from kombu.connection import Connection

from core import embedded_broker
from core.settings import get_settings
from worker.celery_app import celery_app, create_celery


@pytest.fixture
def fresh_app(monkeypatch: pytest.MonkeyPatch) -> Iterator[Celery]:
    """A Celery app built from settings with GRADQ_EMBEDDED_POLL_SECONDS=0.02."""
    monkeypatch.setenv("GRADQ_EMBEDDED_POLL_SECONDS", "0.02")
    get_settings.cache_clear()
    yield create_celery()
    get_settings.cache_clear()


def test_the_default_app_polls_the_embedded_broker_at_the_configured_interval() -> None:
    assert get_settings().broker_url.startswith("sqla+sqlite:")
    with celery_app.connection_for_read() as connection:
        transport = connection.transport
        assert isinstance(transport, embedded_broker.Transport)
        assert transport.polling_interval == get_settings().EMBEDDED_POLL_SECONDS < 1
        # the option reached the transport without breaking the engine: the queue table answers
        declared = connection.default_channel.queue_declare(get_settings().TRAINING_QUEUE)
        assert declared.queue == get_settings().TRAINING_QUEUE


def test_the_setting_reaches_a_worker_connection(fresh_app: Celery) -> None:
    with fresh_app.connection_for_read() as connection:
        assert connection.transport.polling_interval == 0.02
        assert connection.default_channel.session.bind.dialect.name == "sqlite"


def test_engine_options_still_reach_create_engine_and_messages_round_trip(tmp_path: Path) -> None:
    embedded_broker.register()
    url = embedded_broker.embedded_url(f"sqla+sqlite:///{tmp_path / 'broker.db'}")
    # kombu's own options stay out of create_engine, which would refuse them; the rest reach it
    options = {"polling_interval": 0.01, "max_retries": 2, "pool_recycle": 123}
    with Connection(url, transport_options=options) as connection:
        queue = connection.SimpleQueue("round-trip")
        queue.put({"job": "a"})
        assert queue.get(timeout=1).payload == {"job": "a"}
        queue.close()
        engine = connection.default_channel.session.bind
        assert engine.pool._recycle == 123
        assert engine.url.database == str(tmp_path / "broker.db")


@pytest.fixture
def broker_file(tmp_path: Path) -> Iterator[tuple[Connection, Path]]:
    """A connection to a fresh embedded broker, and its SQLite file."""
    embedded_broker.register()
    path = tmp_path / "broker.db"
    url = embedded_broker.embedded_url(f"sqla+sqlite:///{path}")
    with Connection(url, transport_options={"polling_interval": 0.01}) as connection:
        yield connection, path


def _stored_messages(path: Path) -> int:
    with sqlite3.connect(path) as database:
        count: int = database.execute("SELECT count(*) FROM kombu_message").fetchone()[0]
    return count


def test_messages_come_out_oldest_first_and_leave_no_row_behind(
    broker_file: tuple[Connection, Path],
) -> None:
    connection, path = broker_file
    channel = connection.default_channel
    for job in ("a", "b", "c"):
        channel._put("q", {"job": job})
    assert _stored_messages(path) == 3
    assert [channel._get("q")["job"] for _ in range(3)] == ["a", "b", "c"]
    assert _stored_messages(path) == 0
    with pytest.raises(Empty):
        channel._get("q")


def test_an_empty_poll_does_not_wait_for_the_write_lock(
    broker_file: tuple[Connection, Path],
) -> None:
    connection, path = broker_file
    channel = connection.default_channel
    channel._put("q", {"job": "a"})
    channel._get("q")
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # another process writing: kombu's poll would wait on it
    try:
        with pytest.raises(Empty):
            channel._get("q")
    finally:
        writer.execute("ROLLBACK")
        writer.close()


@pytest.mark.parametrize(
    ("broker_url", "expected"),
    [
        ("sqla+sqlite:////d/broker.db", "gradq-sqla+sqlite:////d/broker.db"),
        ("sqlalchemy+postgresql://u:p@h/db", "gradq-sqla+postgresql://u:p@h/db"),
        ("redis://:pass+word@h:6379/0", None),
        ("amqp://guest@h//", None),
    ],
)
def test_only_kombus_sqlalchemy_urls_move_to_the_embedded_transport(
    broker_url: str, expected: str | None
) -> None:
    assert embedded_broker.embedded_url(broker_url) == expected


def test_a_redis_broker_keeps_its_transport_and_visibility_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GRADQ_BROKER_URL", "redis://127.0.0.1:6379/0")
    get_settings.cache_clear()
    try:
        app = create_celery()
        timeout = get_settings().BROKER_VISIBILITY_TIMEOUT
    finally:
        get_settings.cache_clear()
    assert app.conf.broker_transport_options == {"visibility_timeout": timeout}
    with app.connection_for_read() as connection:
        assert connection.transport_cls == "redis"
