"""The Celery application: broker from settings, one training queue, no result backend."""

from typing import Any

from celery import Celery
from celery.signals import worker_process_init, worker_ready, worker_shutdown

from core.db import get_engine
from core.settings import get_settings


def create_celery() -> Celery:
    settings = get_settings()
    app = Celery("gradq", broker=settings.broker_url, include=["worker.tasks"])
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
    if settings.broker_url.startswith(("redis://", "rediss://")):
        app.conf.broker_transport_options = {
            "visibility_timeout": settings.BROKER_VISIBILITY_TIMEOUT
        }
    return app


celery_app = create_celery()


@worker_process_init.connect  # type: ignore[untyped-decorator]
def _dispose_inherited_engine(**_kwargs: Any) -> None:
    # A forked pool child must not reuse the parent's database connections.
    get_engine().dispose(close=False)


_sweepers: list[Any] = []


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
