"""Prometheus metrics at /metrics: request latency, jobs by status, queue length, epochs trained."""

from collections.abc import Callable, Iterator

from fastapi import FastAPI
from prometheus_client import CollectorRegistry, GCCollector, PlatformCollector, ProcessCollector
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_fastapi_instrumentator import Instrumentator
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from core.db import session_factory
from models import Job, JobStatus

# probes and the scrape itself would only add noise to the latency histograms
UNTIMED_HANDLERS = ["^/metrics$", "^/livez$", "^/readyz$"]


class JobCollector(Collector):
    """Job counts by status and the epochs trained, read from the database at each scrape.

    The worker trains in another process, so the database is the only place that knows every
    epoch; two aggregate queries over the jobs table keep a scrape cheap.
    """

    def __init__(self, sessions: Callable[[], Session] | None = None) -> None:
        self._sessions = sessions or (lambda: session_factory()())

    def describe(self) -> Iterator[Metric]:
        return self._families(None, 0)

    def collect(self) -> Iterator[Metric]:
        try:
            with self._sessions() as session:
                rows = session.execute(select(Job.status, func.count()).group_by(Job.status))
                counts = {JobStatus(status): int(count) for status, count in rows}
                epochs = session.scalar(select(func.coalesce(func.sum(Job.current_epoch), 0)))
        except SQLAlchemyError:
            up = GaugeMetricFamily("gradq_database_up", "1 if the last scrape read the database")
            up.add_metric([], 0)
            yield up
            return
        yield from self._families(counts, int(epochs or 0))

    def _families(self, counts: dict[JobStatus, int] | None, epochs: int) -> Iterator[Metric]:
        up = GaugeMetricFamily("gradq_database_up", "1 if the last scrape read the database")
        jobs = GaugeMetricFamily("gradq_jobs", "Jobs by status", labels=["status"])
        queue = GaugeMetricFamily("gradq_queue_length", "Jobs queued and waiting for a worker")
        trained = CounterMetricFamily(
            "gradq_epochs",
            "Epochs trained by all jobs; rate() of it is epochs per second",
        )
        if counts is not None:
            up.add_metric([], 1)
            for status in JobStatus:
                jobs.add_metric([status.value], counts.get(status, 0))
            queue.add_metric([], counts.get(JobStatus.QUEUED, 0))
            trained.add_metric([], epochs)
        yield from (up, jobs, queue, trained)


def install_monitoring(app: FastAPI) -> CollectorRegistry:
    """Time every request and serve the metrics at /metrics; returns the app's own registry.

    Each app gets its own registry, so several apps in one process (tests) do not collide.
    """
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    registry.register(JobCollector())
    instrumentator = Instrumentator(
        should_ignore_untemplated=True,
        should_exclude_streaming_duration=True,
        excluded_handlers=UNTIMED_HANDLERS,
        registry=registry,
    )
    instrumentator.instrument(app).expose(app, include_in_schema=False)
    return registry
