"""Training overhead: the plain loop against gradq's worker code path, interleaved, same numbers."""

import gc
import importlib.util
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Engine

from bench.databases import new_job
from bench.plain import plain_fit, recording_fit
from bench.stats import median, ratio
from bench.workloads import Workload
from core import jobs
from core.db import session_scope
from core.settings import Settings
from training.loop import FitResult, RunControl, fit
from training.run import TrainingRun, build_run
from training.sinks import ListSink, MetricSink
from training.spec import TrainingSpec
from worker.attempt import AttemptControl, Heartbeat
from worker.db_sink import DbMetricSink

FitFunction = Callable[[TrainingRun, MetricSink, RunControl | None], FitResult]
# what the worker uses unless the GRADQ_ settings of these names say otherwise
FLUSH_SECONDS: float = Settings.model_fields["METRICS_FLUSH_SECONDS"].default
CHECKPOINT_MIN_SECONDS: float = Settings.model_fields["CHECKPOINT_MIN_SECONDS"].default
LEASE_SECONDS: float = Settings.model_fields["LEASE_SECONDS"].default
HEARTBEAT_SECONDS: float = Settings.model_fields["HEARTBEAT_SECONDS"].default


class WorkerSink(MetricSink, Protocol):
    def flush(self) -> None: ...


class MemorySink(ListSink):
    """A ListSink with the worker sink's flush: gradq without a database."""

    def flush(self) -> None:
        pass


class TimedSink:
    """Passes every call on to sink and adds up the seconds spent in it."""

    def __init__(self, sink: WorkerSink) -> None:
        self.sink = sink
        self.seconds = 0.0

    def log_epoch(self, epoch: int, metrics: Mapping[str, float], step: int) -> None:
        started = time.perf_counter()
        self.sink.log_epoch(epoch, metrics, step)
        self.seconds += time.perf_counter() - started

    def log_event(self, kind: str, epoch: int, data: Mapping[str, Any]) -> None:
        started = time.perf_counter()
        self.sink.log_event(kind, epoch, data)
        self.seconds += time.perf_counter() - started

    def flush(self) -> None:
        started = time.perf_counter()
        self.sink.flush()
        self.seconds += time.perf_counter() - started


@dataclass(frozen=True)
class Timing:
    """Wall seconds, the process's CPU seconds (steadier on a busy machine), and the parts."""

    seconds: float
    cpu: float
    final_loss: float
    build: float = 0.0
    sink: float = 0.0


def time_plain(workload: Workload) -> Timing:
    """The hand-written script, from generating the data to the last epoch's loss."""
    started, cpu = time.perf_counter(), time.process_time()
    losses = plain_fit(workload.plain_setup())
    return Timing(time.perf_counter() - started, time.process_time() - cpu, losses[-1])


def time_recording(workload: Workload) -> Timing:
    """The script, also recording what gradq records every epoch."""
    started, cpu = time.perf_counter(), time.process_time()
    epochs = recording_fit(workload.plain_setup())
    return Timing(
        time.perf_counter() - started, time.process_time() - cpu, epochs[-1]["train_loss"]
    )


def time_gradq(workload: Workload, sink: WorkerSink, fit_function: FitFunction = fit) -> Timing:
    """The worker's path after the claim: validate the spec, build_run, fit, flush the sink.

    On a database the sink is flushed from the worker's heartbeat thread, as in a worker; the
    sink time is then what the loop's own thread spent in it.
    """
    timed = TimedSink(sink)
    started, cpu = time.perf_counter(), time.process_time()
    spec = TrainingSpec.model_validate(workload.spec)
    run = build_run(spec, workload.device)
    built = time.perf_counter()
    try:
        if isinstance(sink, DbMetricSink):
            control = AttemptControl(
                sink,
                job_id=sink.job_id,
                checkpoint_every=spec.training.checkpoint_every,
                checkpoint_min_seconds=CHECKPOINT_MIN_SECONDS,
                seconds_left=None,
            )
            with Heartbeat(sink, renew_seconds=HEARTBEAT_SECONDS):
                result = fit_function(run, timed, control)
        else:
            result = fit_function(run, timed, None)
    finally:
        timed.flush()
    ended, cpu = time.perf_counter(), time.process_time() - cpu
    loss = result.last_metrics["train_loss"]
    return Timing(ended - started, cpu, loss, build=built - started, sink=timed.seconds)


def db_sink(engine: Engine, workload: Workload) -> WorkerSink:
    job_id = new_job(engine, workload.spec, workload.epochs)
    with session_scope(engine) as session:
        attempt = jobs.claim(session, job_id=job_id, worker="bench", lease_seconds=LEASE_SECONDS)
    assert attempt is not None
    return DbMetricSink(
        job_id,
        engine=engine,
        flush_seconds=FLUSH_SECONDS,
        attempt=attempt,
        lease_seconds=LEASE_SECONDS,
    )


Variant = Callable[[Workload], Timing]


def _on(engine: Engine, fit_function: FitFunction = fit) -> Variant:
    return lambda workload: time_gradq(workload, db_sink(engine, workload), fit_function)


def _in_memory(fit_function: FitFunction = fit) -> Variant:
    return lambda workload: time_gradq(workload, MemorySink(), fit_function)


def variants(engines: Mapping[str, Engine], candidate: FitFunction | None) -> dict[str, Variant]:
    """The plain loop (alone and recording gradq's metrics), gradq without a database and on each
    engine, and the candidate loop if given."""
    found: dict[str, Variant] = {
        "plain": time_plain,
        "plain_recording": time_recording,
        "gradq_memory": _in_memory(),
    }
    for name, engine in engines.items():
        found[f"gradq_{name}"] = _on(engine)
    if candidate is not None:
        found["candidate_memory"] = _in_memory(candidate)
        if "sqlite" in engines:
            found["candidate_sqlite"] = _on(engines["sqlite"], candidate)
    return found


def load_fit(path: Path) -> FitFunction:
    """fit() from a copy of training/loop.py at path, to measure a change before making it."""
    module_spec = importlib.util.spec_from_file_location("bench_candidate_loop", path)
    if module_spec is None or module_spec.loader is None:
        raise ValueError(f"cannot load a Python module from {path}")
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    fit_function: FitFunction = module.fit
    return fit_function


def measure(
    workload: Workload,
    chosen: Mapping[str, Variant],
    repetitions: int,
    warm_up: Workload | None = None,
) -> dict[str, list[Timing]]:
    """One untimed warm-up of each variant (on warm_up, default workload: imports, first
    calls), then repetitions rounds of A B C ... in turn."""
    for variant in chosen.values():
        variant(warm_up or workload)
    timings: dict[str, list[Timing]] = {name: [] for name in chosen}
    for _ in range(repetitions):
        for name, variant in chosen.items():
            gc.collect()  # not inside the timed run
            timings[name].append(variant(workload))
    return timings


def _variant_summary(samples: list[Timing]) -> dict[str, Any]:
    return {
        "median_s": median([t.seconds for t in samples]),
        "cpu_median_s": median([t.cpu for t in samples]),
        "build_s": median([t.build for t in samples]),
        "sink_s": median([t.sink for t in samples]),
        "samples_s": [round(t.seconds, 5) for t in samples],
        "final_train_loss": samples[-1].final_loss,
    }


def summarise(workload: Workload, timings: dict[str, list[Timing]]) -> dict[str, Any]:
    """Medians per variant, each gradq variant's ratio to plain, and whether the numbers agree."""
    summaries = {name: _variant_summary(samples) for name, samples in timings.items()}
    plain = summaries["plain"]["median_s"]
    plain_cpu = summaries["plain"]["cpu_median_s"]
    others = [name for name in summaries if name != "plain"]
    ratios = {name: ratio(summaries[name]["median_s"], plain) for name in others}
    cpu_ratios = {name: ratio(summaries[name]["cpu_median_s"], plain_cpu) for name in others}
    plain_loss = summaries["plain"]["final_train_loss"]
    same = all(
        abs(entry["final_train_loss"] - plain_loss) <= 1e-6 * max(1.0, abs(plain_loss))
        for entry in summaries.values()
    )
    headline = next(name for name in ("gradq_sqlite", "gradq_memory", *others) if name in summaries)
    return {
        "description": workload.description,
        "epochs": workload.epochs,
        "samples": workload.samples,
        "plain_s": plain,
        "gradq_s": summaries[headline]["median_s"],
        "ratio": ratios[headline],
        "ratio_of": headline,
        "ratios": ratios,
        "cpu_ratios": cpu_ratios,
        "same_final_loss": same,
        "repetitions": len(timings["plain"]),
        "variants": summaries,
    }
