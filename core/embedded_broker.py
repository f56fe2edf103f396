"""kombu's SQLAlchemy transport (the embedded broker), polling its queue as often as configured.

An idle worker sleeps the transport's polling_interval between empty polls: kombu's one second
was most of a short job's time from submission to success. kombu reads the interval from the
transport options, but its SQLAlchemy channel passes every transport option on to create_engine,
which refuses this one; the channel here keeps it out.

kombu also keeps every delivered message (marked invisible), and each poll takes SQLite's write
lock and walks those rows: after 50,000 jobs an idle worker spent 4 ms of CPU on each of its ten
polls a second, and the table only grew. Here an empty poll is one read, and delivered messages
are deleted.
"""

import logging
from queue import Empty
from typing import Any

from kombu import transport
from kombu.transport import sqlalchemy as kombu_sqlalchemy
from sqlalchemy import Engine, create_engine, delete, select
from sqlalchemy.exc import OperationalError

log = logging.getLogger(__name__)

# The URL prefix of this transport. A prefix in the URL beats Celery's broker_transport setting,
# so the class is named by an alias of its own rather than by that setting.
SCHEME = "gradq-sqla"
KOMBU_SCHEMES = ("sqla", "sqlalchemy")

# Transport options kombu reads itself (as listed in kombu 5.7's Channel._engine_from_config, plus
# the polling interval); every other one configures the engine.
NOT_ENGINE_OPTIONS = frozenset(
    {
        "polling_interval",
        "queue_tablename",
        "message_tablename",
        "callback",
        "errback",
        "max_retries",
        "interval_start",
        "interval_step",
        "interval_max",
        "retry_errors",
    }
)


class Channel(kombu_sqlalchemy.Channel):
    def _engine_from_config(self) -> Engine:
        client = self.connection.client
        options = client.transport_options.items()
        engine_options = {k: v for k, v in options if k not in NOT_ENGINE_OPTIONS}
        return create_engine(client.hostname, **engine_options)

    def _queue_id(self, queue: str) -> int:
        # kombu never deletes a queue's row, so its id holds for the channel's life
        known: dict[str, int] = self.__dict__.setdefault("_queue_ids", {})
        if queue not in known:
            known[queue] = self._get_or_create(queue).id  # type: ignore[no-untyped-call]
        return known[queue]

    def _get(self, queue: str, timeout: float | None = None) -> Any:  # noqa: ARG002 (kombu's signature)
        """The oldest pending message, claimed as kombu does; Empty after one read if none."""
        messages = self.message_cls.__table__
        queue_id = self._queue_id(queue)
        pending = select(messages.c.id).where(
            messages.c.queue_id == queue_id, messages.c.visible.is_(True)
        )
        try:
            found = self.session.execute(pending.limit(1)).first()
        finally:
            self.session.commit()
        if found is None:
            raise Empty()
        payload = super()._get(queue)  # type: ignore[no-untyped-call]
        self._delete_delivered(queue_id)
        return payload

    def _delete_delivered(self, queue_id: int) -> None:
        """Delete the queue's delivered messages; a busy database leaves them to the next one."""
        messages = self.message_cls.__table__
        delivered = messages.c.queue_id == queue_id, messages.c.visible.is_(False)
        try:
            self.session.execute(delete(messages).where(*delivered))
            self.session.commit()
        except OperationalError:
            self.session.rollback()
            log.warning("event=broker_cleanup_postponed reason=database_busy")


class Transport(kombu_sqlalchemy.Transport):
    Channel = Channel


def register() -> None:
    """Let kombu resolve SCHEME; call before opening a connection to a URL that uses it."""
    transport.TRANSPORT_ALIASES[SCHEME] = f"{__name__}:Transport"


def embedded_url(broker_url: str) -> str | None:
    """broker_url moved onto this transport when it names kombu's SQLAlchemy one, else None."""
    prefix, plus, database_url = broker_url.partition("+")
    if plus and prefix in KOMBU_SCHEMES and "://" in database_url:
        return f"{SCHEME}+{database_url}"
    return None
