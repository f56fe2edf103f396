"""kombu's SQLAlchemy transport (the embedded broker), polling its queue as often as configured.

An idle worker sleeps the transport's polling_interval between empty polls: kombu's one second
was most of a short job's time from submission to success. kombu reads the interval from the
transport options, but its SQLAlchemy channel passes every transport option on to create_engine,
which refuses this one; the channel here keeps it out.
"""

from kombu import transport
from kombu.transport import sqlalchemy as kombu_sqlalchemy
from sqlalchemy import Engine, create_engine

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
