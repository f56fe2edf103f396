"""Where gradq's time goes in one training run: a cProfile of the worker code path."""

import cProfile
import gc
import pstats
from typing import Any

from sqlalchemy import Engine

from bench.overhead import MemorySink, WorkerSink, db_sink, time_gradq
from bench.workloads import Workload

TOP = 15
GRADQ_CODE = ("/training/", "/worker/", "/core/")


def _where(key: tuple[str, int, str]) -> str:
    filename, line, function = key
    if filename == "~":
        return function
    short = filename.split("site-packages/")[-1].split("/work/main/")[-1]
    return f"{short}:{line}({function})"


def _rows(stats: pstats.Stats, keys: list[tuple[str, int, str]]) -> list[dict[str, Any]]:
    raw: dict[tuple[str, int, str], tuple[int, int, float, float, Any]] = stats.stats  # type: ignore[attr-defined]
    return [
        {
            "function": _where(key),
            "calls": raw[key][1],
            "own_s": round(raw[key][2], 4),
            "with_callees_s": round(raw[key][3], 4),
        }
        for key in keys
    ]


def profile_run(workload: Workload, engine: Engine | None) -> dict[str, Any]:
    """One profiled run (SQLite sink when engine is given): top functions by own time, and
    gradq's own functions by time including what they call."""
    sink: WorkerSink = db_sink(engine, workload) if engine is not None else MemorySink()
    gc.collect()
    profiler = cProfile.Profile()
    profiler.enable()
    timing = time_gradq(workload, sink)
    profiler.disable()
    stats = pstats.Stats(profiler)
    raw: dict[tuple[str, int, str], tuple[int, int, float, float, Any]] = stats.stats  # type: ignore[attr-defined]
    by_own = sorted(raw, key=lambda key: raw[key][2], reverse=True)[:TOP]
    ours = [key for key in raw if any(part in key[0] for part in GRADQ_CODE)]
    by_total = sorted(ours, key=lambda key: raw[key][3], reverse=True)[:TOP]
    return {
        "profiled_s": timing.seconds,
        "sink_s": timing.sink,
        "build_s": timing.build,
        "top_own_time": _rows(stats, by_own),
        "gradq_functions": _rows(stats, by_total),
    }
