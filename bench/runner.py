"""`python -m bench`: run the benchmarks, print one table, write bench/results.json."""

import argparse
import json
import os
import tempfile
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import redis

from bench.api_profile import sampled
from bench.api_profile import summarise as summarise_samples
from bench.at_size import metrics_at_size
from bench.databases import postgres_reachable, scratch_databases
from bench.e2e import end_to_end
from bench.load import api_under_load
from bench.overhead import FitFunction, load_fit, measure, summarise, variants
from bench.peers import run_peers
from bench.profile import profile_run
from bench.report import OVERHEAD_GOAL, load_average, machine, table
from bench.workloads import WORKLOADS
from tests.databases import REDIS_URL
from tests.integration.stack import Stack, new_user, running_stack
from training.device import resolve_device

RESULTS = Path(__file__).resolve().parent / "results.json"
SECTIONS = ("overhead", "stacks", "size", "peers")
BACKENDS = ("embedded", "postgres+redis")


@dataclass(frozen=True)
class Plan:
    """How much of everything to run; the defaults fit in a few minutes on 2 cores."""

    scale: float = 1.0
    repetitions: dict[str, int] = field(
        default_factory=lambda: {"moons": 7, "mlp": 5, "cnn": 3, "weight_decay": 9}
    )
    workloads: tuple[str, ...] = tuple(WORKLOADS)
    jobs: int = 50
    poll_rate: float = 200
    submit_rate: float = 5
    load_seconds: float = 10
    load_threads: int = 8
    # uvicorn processes of the API under test (GRADQ_API_WORKERS): one per core
    api_workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    burst_seconds: float = 5
    epochs_at_size: int = 100_000
    size_repetitions: int = 3
    peer_repetitions: int = 3
    postgres: bool = True
    profile: bool = True
    sections: tuple[str, ...] = SECTIONS
    backends: tuple[str, ...] = BACKENDS
    profile_api: Path | None = None
    # where the training-overhead section trains (a spec's device: cpu, cuda, cuda:N or auto)
    device: str = "cpu"


QUICK = Plan(
    scale=0.01,
    repetitions=dict.fromkeys(WORKLOADS, 1),
    workloads=("moons", "weight_decay"),
    jobs=2,
    poll_rate=20,
    submit_rate=2,
    load_seconds=1.5,
    load_threads=2,
    burst_seconds=1,
    epochs_at_size=500,
    size_repetitions=2,
    peer_repetitions=1,
    profile=False,
)


def redis_reachable() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping())
    except redis.RedisError:
        return False


def run_overhead(
    plan: Plan, directory: Path, candidate: FitFunction | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Each workload's variants interleaved; a profile of each that misses the ratio goal."""
    results: dict[str, Any] = {}
    profiles: dict[str, Any] = {}
    with scratch_databases(directory, postgres=plan.postgres) as engines:
        chosen = variants(engines, candidate)
        device = resolve_device(plan.device)
        for name in plan.workloads:
            workload = WORKLOADS[name].sized(plan.scale).on(device)
            timings = measure(workload, chosen, plan.repetitions.get(name, 3))
            results[name] = summarise(workload, timings)
            if plan.profile and results[name]["ratio"] > OVERHEAD_GOAL:
                profiles[name] = profile_run(workload, engines["sqlite"])
    return results, profiles


def run_stacks(plan: Plan, directory: Path) -> dict[str, Any]:
    """End to end (unless jobs is 0) and API under load on each backend's `gradq serve`."""
    backends = [b for b in plan.backends if b == "embedded" or _servers_reachable(plan)]
    results: dict[str, Any] = {}
    for backend in backends:
        data_dir = directory / backend.replace("+", "-")
        data_dir.mkdir()
        entry: dict[str, Any] = {}
        settings = {"GRADQ_API_WORKERS": str(plan.api_workers)}
        with running_stack(backend, data_dir, settings) as stack:
            token = new_user(stack, "bench")
            if plan.jobs:
                stack.wait_for_worker()  # the first job then finds it idle
                with stack.client(token) as client:
                    entry["end_to_end"] = end_to_end(client, plan.jobs, warmup=1)
            entry["api_under_load"] = _load(plan, stack, token, backend)
        results[backend] = entry
    return results


def _servers_reachable(plan: Plan) -> bool:
    return plan.postgres and postgres_reachable() and redis_reachable()


def _load(plan: Plan, stack: Stack, token: str, backend: str) -> dict[str, Any]:
    """API under load; sampled by py-spy when the plan names a folder for the profiles."""
    raw = plan.profile_api / f"{backend.replace('+', '-')}.txt" if plan.profile_api else None
    with sampled(int(stack.env["GRADQ_PORT"]), raw) if raw else nullcontext():
        load = api_under_load(
            stack,
            token,
            poll_rate=plan.poll_rate,
            submit_rate=plan.submit_rate,
            seconds=plan.load_seconds,
            threads=plan.load_threads,
            burst_seconds=plan.burst_seconds,
        )
    load["api_workers"] = plan.api_workers
    return load | ({"profile": summarise_samples(raw)} if raw else {})


def run_size(plan: Plan, directory: Path) -> dict[str, Any]:
    with scratch_databases(directory, postgres=plan.postgres) as engines:
        return {
            name: metrics_at_size(engine, plan.epochs_at_size, plan.size_repetitions)
            for name, engine in engines.items()
        }


def run(plan: Plan, candidate: FitFunction | None = None) -> dict[str, Any]:
    """Every section the plan names, with the machine and its load average around them."""
    results: dict[str, Any] = {"machine": machine(), "load_average": {"start": load_average()}}
    with tempfile.TemporaryDirectory(prefix="gradq-bench-") as scratch:
        directory = Path(scratch)
        if "overhead" in plan.sections:
            overhead, profiles = run_overhead(plan, directory, candidate)
            results |= {"overhead": overhead, "profile": profiles}
        if "stacks" in plan.sections:
            results["stacks"] = run_stacks(plan, directory)
        if "size" in plan.sections:
            results["metrics_at_size"] = run_size(plan, directory)
        if "peers" in plan.sections:
            moons = WORKLOADS["moons"].sized(plan.scale)
            results["peers"] = run_peers(moons, plan.peer_repetitions, directory)
    results["load_average"]["end"] = load_average()
    results["plan"] = {
        "scale": plan.scale,
        "repetitions": plan.repetitions,
        "jobs": plan.jobs,
        "epochs_at_size": plan.epochs_at_size,
        "api_workers": plan.api_workers,
        "device": plan.device,
    }
    return results


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks the harness")
    parser.add_argument(
        "--only", choices=SECTIONS, action="append", help="run this section (repeatable)"
    )
    parser.add_argument("--workload", choices=list(WORKLOADS), action="append")
    parser.add_argument("--repetitions", type=int, help="rounds per workload (default: per plan)")
    parser.add_argument(
        "--jobs", type=int, help="end-to-end jobs per backend (default 50; 0: load only)"
    )
    parser.add_argument("--api-workers", type=int, help="API processes (default: one per core)")
    parser.add_argument("--backend", choices=BACKENDS, action="append", help="stacks to run")
    parser.add_argument(
        "--profile-api",
        type=Path,
        metavar="DIR",
        help="py-spy the API under load; raw stacks go to DIR, a summary to the results",
    )
    parser.add_argument(
        "--device", default="cpu", help="training-overhead device: cpu, cuda, cuda:N or auto"
    )
    parser.add_argument("--no-postgres", action="store_true", help="SQLite and embedded only")
    parser.add_argument(
        "--candidate-loop", type=Path, help="a copy of training/loop.py to measure beside it"
    )
    parser.add_argument("--output", type=Path, default=RESULTS)
    return parser


def plan_from(args: argparse.Namespace) -> Plan:
    plan = QUICK if args.quick else Plan()
    if args.only:
        plan = replace(plan, sections=tuple(args.only))
    if args.workload:
        plan = replace(plan, workloads=tuple(args.workload))
    if args.repetitions:
        plan = replace(plan, repetitions=dict.fromkeys(WORKLOADS, args.repetitions))
    if args.jobs is not None:
        plan = replace(plan, jobs=args.jobs)
    if args.backend:
        plan = replace(plan, backends=tuple(args.backend))
    if args.api_workers:
        plan = replace(plan, api_workers=args.api_workers)
    if args.profile_api:
        args.profile_api.mkdir(parents=True, exist_ok=True)
        plan = replace(plan, profile_api=args.profile_api)
    if args.no_postgres:
        plan = replace(plan, postgres=False)
    return replace(plan, device=args.device)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    candidate = load_fit(args.candidate_loop) if args.candidate_loop else None
    results = run(plan_from(args), candidate)
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    print(table(results))  # noqa: T201
    print(f"\nwritten: {args.output}")  # noqa: T201
    return 0
