"""The machine a run measured on, and the one table the runner prints."""

import os
import platform
import sqlite3
from typing import Any

import torch

OVERHEAD_GOAL = 1.10
E2E_GOAL_S = 0.5
POLL_P99_GOAL_S = 0.050
POLL_RATE_GOAL = 200


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gib() -> float | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError, AttributeError):
        return None


def machine() -> dict[str, Any]:
    memory = _memory_gib()
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": round(memory, 1) if memory else None,
        "os": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "sqlite": sqlite3.sqlite_version,
        "gpus": [torch.cuda.get_device_name(index) for index in range(torch.cuda.device_count())],
    }


def load_average() -> float:
    return round(os.getloadavg()[0], 2)


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def _s(seconds: float) -> str:
    return f"{seconds:.3f} s" if seconds < 10 else f"{seconds:.1f} s"


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


def _met(ok: bool) -> str:
    return "yes" if ok else "no"


def _overhead_rows(overhead: dict[str, Any]) -> list[list[str]]:
    rows = []
    for name, entry in overhead.items():
        ratios = entry["ratios"]
        others = ", ".join(
            f"{label} {ratios[key]:.2f}"
            for key, label in [
                ("gradq_memory", "no DB"),
                ("gradq_postgresql", "PostgreSQL"),
                ("plain_recording", "plain recording gradq's metrics"),
                ("candidate_sqlite", "candidate loop"),
            ]
            if ratios.get(key) is not None
        )
        numbers = "" if entry["same_final_loss"] else "; FINAL LOSSES DIFFER"
        rows.append(
            [
                "training overhead",
                f"{name} ({entry['samples']:,} samples, {_plural(entry['epochs'], 'epoch')}): "
                f"{entry['description']}",
                f"plain {_s(entry['plain_s'])}, gradq {_s(entry['gradq_s'])}: "
                f"ratio {entry['ratio']:.2f} ({others}){numbers}",
                f"ratio <= {OVERHEAD_GOAL:.2f}",
                _met(entry["ratio"] <= OVERHEAD_GOAL and entry["same_final_loss"]),
            ]
        )
    return rows


def _e2e_row(backend: str, e2e: dict[str, Any]) -> list[str]:
    parts = ", ".join(
        f"{label} {_ms(e2e[key]['median'])}"
        for key, label in [
            ("submit", "submit"),
            ("queue_wait", "queue wait"),
            ("train", "train"),
            ("setup_and_finalise", "setup+finalise"),
            ("observed", "seen"),
        ]
    )
    redis = backend != "embedded"
    return [
        "end to end",
        f"{backend}: {_plural(e2e['jobs'], 'job')} of {_plural(e2e['epochs_per_job'], 'epoch')}",
        f"median {_s(e2e['total']['median'])}, p95 {_s(e2e['total']['p95'])} ({parts})"
        + (f"; the worker's first job {_s(e2e['first_job_s'])}" if "first_job_s" in e2e else ""),
        f"p95 < {E2E_GOAL_S} s on Redis" if redis else "-",
        _met(e2e["total"]["p95"] < E2E_GOAL_S) if redis else "-",
    ]


def _traffic(entry: dict[str, Any]) -> str:
    target = f"target {entry['target_per_s']:.0f}/s, " if entry.get("target_per_s") else ""
    latency = entry["latency_s"]
    failed = f", {entry['failures']} failed" if entry["failures"] else ""
    return (
        f"{target}{entry['per_s']:.0f}/s, p50 {_ms(latency['median'])}, "
        f"p99 {_ms(latency['p99'])}{failed}"
    )


def _load_rows(backend: str, load: dict[str, Any]) -> list[list[str]]:
    polls = load["polls"]
    polls_ok = (
        polls["latency_s"]["p99"] < POLL_P99_GOAL_S
        and polls["per_s"] >= 0.95 * POLL_RATE_GOAL
        and not polls["failures"]
    )
    at_goal_rate = (polls["target_per_s"] or 0) >= POLL_RATE_GOAL
    processes = load.get("api_workers", 1)
    return [
        [
            "API under load",
            f"{backend}, {_plural(processes, 'API worker')}: metric polls, job writing epochs",
            _traffic(polls),
            f"p99 < {POLL_P99_GOAL_S * 1000:.0f} ms at {POLL_RATE_GOAL}/s",
            _met(polls_ok) if at_goal_rate else "-",
        ],
        [
            "API under load",
            f"{backend}: submissions, meanwhile",
            _traffic(load["submissions"]),
            "-",
            "-",
        ],
        [
            "API under load",
            f"{backend}: polls, {load['polls_max_rate']['threads']} threads flat out",
            _traffic(load["polls_max_rate"]),
            "-",
            "-",
        ],
    ]


def _size_row(database: str, size: dict[str, Any]) -> list[str]:
    reads = [
        ("core_all", "all (core)"),
        ("http_all", "all (HTTP)"),
        ("http_since_epoch", "since_epoch (HTTP)"),
        ("http_max_points", "max_points=1000 (HTTP)"),
    ]
    measured = ", ".join(
        f"{label} {_ms(size[key]['median_s'])}" for key, label in reads if key in size
    )
    return [
        "metrics at size",
        f"{database}: {size['epochs']:,} epochs ({size['rows']:,} rows)",
        f"insert {_s(size['insert_s'])}; {measured}",
        "-",
        "-",
    ]


def _peer_rows(peers: dict[str, Any]) -> list[list[str]]:
    """One row per optional peer, with its ratio to the plain loop measured beside it."""
    epochs = _plural(peers["epochs"], "epoch")
    workload = f"{peers['workload']} ({peers['samples']:,} samples, {epochs})"
    table = []
    for entry in peers["by_peer"].values():
        measured = entry["status"]
        if measured == "not installed":
            measured = "not installed (pip install -e '.[dev,bench]')"
        elif measured == "measured":
            differ = "" if entry["same_final_loss"] else "; FINAL LOSSES DIFFER"
            measured = (
                f"plain {_s(entry['plain_s'])}, {entry['label']} {_s(entry['peer_s'])}: "
                f"ratio {entry['ratio']:.2f}{differ} ({entry['note']})"
            )
        table.append(["peer", f"{workload}: {entry['label']}", measured, "-", "-"])
    return table


def rows(results: dict[str, Any]) -> list[list[str]]:
    table = _overhead_rows(results.get("overhead", {}))
    for backend, entry in results.get("stacks", {}).items():
        if "end_to_end" in entry:
            table.append(_e2e_row(backend, entry["end_to_end"]))
        if "api_under_load" in entry:
            table += _load_rows(backend, entry["api_under_load"])
    for database, size in results.get("metrics_at_size", {}).items():
        table.append(_size_row(database, size))
    if "peers" in results:
        table += _peer_rows(results["peers"])
    return table


def table(results: dict[str, Any]) -> str:
    """A Markdown table of every measurement, under a line naming the machine."""
    info = results["machine"]
    loads = results.get("load_average", {})
    header = (
        f"gradq benchmarks on {info['cpu']} ({info['cores']} cores, "
        f"{info['memory_gib']} GiB), torch {info['torch']}, Python {info['python']}; "
        f"load average {loads.get('start')} at start, {loads.get('end')} at end"
    )
    device = results.get("plan", {}).get("device", "cpu")
    if device != "cpu":
        header += f"; training overhead on {device} ({', '.join(info.get('gpus', [])) or 'none'})"
    lines = [
        header,
        "",
        "| benchmark | case | measured | goal | met |",
        "| --- | --- | --- | --- | --- |",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in rows(results)]
    return "\n".join(lines)
