"""The Celery application: broker from settings, one training queue, no result backend."""

import os
from typing import Any

from celery import Celery
from celery.signals import worker_init, worker_process_init, worker_ready, worker_shutdown

from core import embedded_broker
from core.db import get_engine
from core.settings import Settings, get_settings


def create_celery() -> Celery:
    settings = get_settings()
    embedded_broker.register()
    app = Celery("gradq", broker=_broker_url(settings), include=["worker.tasks"])
    app.conf.update(
        # The database is the record of every job; results would only duplicate it.
        task_ignore_result=True,
        # Flower and `celery events` show tasks only when workers send their events
        worker_send_task_events=True,
        # messages carry a job id only; never unpickle anything that comes off the broker
        task_serializer="json",
        accept_content=["json"],
        # Acknowledge on receipt: a training run is never redelivered by the broker (Redis would
        # redeliver an unacknowledged hour-long task after its visibility timeout). The atomic
        # claim in the database makes a duplicate message harmless either way.
        task_acks_late=False,
        worker_prefetch_multiplier=1,
        task_default_queue=settings.TRAINING_QUEUE,
        task_routes={"training.*": {"queue": settings.TRAINING_QUEUE}},
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
    )
    app.conf.broker_transport_options = _transport_options(settings)
    return app


def _broker_url(settings: Settings) -> str:
    return embedded_broker.embedded_url(settings.broker_url) or settings.broker_url


def _transport_options(settings: Settings) -> dict[str, Any]:
    if settings.broker_url.startswith(("redis://", "rediss://")):
        return {"visibility_timeout": settings.BROKER_VISIBILITY_TIMEOUT}
    if embedded_broker.embedded_url(settings.broker_url) is not None:
        # an idle worker sleeps this long between polls of the queue table
        return {"polling_interval": settings.EMBEDDED_POLL_SECONDS}
    return {}


celery_app = create_celery()


def lower_priority(nice: int) -> None:
    """Raise this process's nice value to `nice` (never lower it: that needs privileges).

    On Linux the value is per thread and inherited by threads started later, so this runs at
    worker start, before torch starts its thread pool or the worker its heartbeat threads.
    """
    current = os.getpriority(os.PRIO_PROCESS, 0)
    if nice > current:
        os.setpriority(os.PRIO_PROCESS, 0, nice)


@worker_init.connect  # type: ignore[untyped-decorator]
def _train_at_lower_priority(**_kwargs: Any) -> None:
    lower_priority(get_settings().WORKER_NICE)


@worker_process_init.connect  # type: ignore[untyped-decorator]
def _dispose_inherited_engine(**_kwargs: Any) -> None:
    # A forked pool child must not reuse the parent's database connections.
    get_engine().dispose(close=False)


_sweepers: list[Any] = []


@worker_ready.connect  # type: ignore[untyped-decorator]
def _warm_up(**_kwargs: Any) -> None:
    # the solo pool runs jobs in this process: it warms up here, before it consumes a message
    from worker.warm_up import warm_up  # imports the training stack: only in workers

    warm_up()


@worker_ready.connect  # type: ignore[untyped-decorator]
def _start_sweeper(**_kwargs: Any) -> None:
    from worker.sweeper import Sweeper  # imports the training stack: only in workers

    sweeper = Sweeper(get_settings().SWEEP_SECONDS)
    sweeper.start()
    _sweepers.append(sweeper)


@worker_shutdown.connect  # type: ignore[untyped-decorator]
def _stop_sweeper(**_kwargs: Any) -> None:
    for sweeper in _sweepers:
        sweeper.stop()
