"""The benchmark harness at tiny sizes: same numbers both ways, reads, load generator, table."""

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from api.main import create_app
from bench import runner
from bench.at_size import metrics_at_size
from bench.databases import sqlite_database
from bench.e2e import PARTS
from bench.load import OpenLoop, Poller, closed_loop
from bench.overhead import load_fit, measure, summarise, variants
from bench.report import table
from bench.workloads import WORKLOADS
from core import jobs, metrics, users
from core.db import session_scope
from core.metrics import EpochRecord

LOOP = Path(__file__).resolve().parents[2] / "training" / "loop.py"


@pytest.fixture(scope="module")
def quick_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    output = tmp_path_factory.mktemp("bench") / "results.json"
    argv = ["--quick", "--no-postgres", "--only", "overhead", "--only", "size"]
    assert runner.main([*argv, "--output", str(output)]) == 0
    results: dict[str, Any] = json.loads(output.read_text())
    return results


def test_plain_loop_and_gradq_report_the_same_final_loss(quick_results: dict[str, Any]) -> None:
    overhead = quick_results["overhead"]
    assert set(overhead) == {"moons", "weight_decay"}
    for entry in overhead.values():
        assert entry["same_final_loss"], entry["variants"]
        assert set(entry["variants"]) == {
            "plain",
            "plain_recording",
            "gradq_memory",
            "gradq_sqlite",
        }
        assert entry["ratio_of"] == "gradq_sqlite"
        assert entry["ratio"] == entry["gradq_s"] / entry["plain_s"] > 0
        assert entry["variants"]["gradq_sqlite"]["sink_s"] > 0


def test_results_name_the_machine_and_the_plan(quick_results: dict[str, Any]) -> None:
    assert quick_results["machine"]["cores"] >= 1
    assert quick_results["plan"]["scale"] == runner.QUICK.scale
    assert set(quick_results["load_average"]) == {"start", "end"}


def test_metrics_at_size_reads_every_epoch(quick_results: dict[str, Any]) -> None:
    size = quick_results["metrics_at_size"]["sqlite"]
    epochs = runner.QUICK.epochs_at_size
    assert (size["epochs"], size["rows"]) == (epochs, epochs * 6)
    assert size["core_all"]["epochs_returned"] == epochs
    assert size["http_all"]["epochs_returned"] == epochs
    assert size["core_since_epoch"]["epochs_returned"] == 10
    assert size["http_since_epoch"]["epochs_returned"] == 10
    if "http_max_points" in size:
        assert 0 < size["http_max_points"]["epochs_returned"] <= epochs


def test_candidate_loop_is_measured_beside_the_current_one(tmp_path: Path) -> None:
    workload = WORKLOADS["weight_decay"].sized(0.01)
    with sqlite_database(tmp_path) as engine:
        chosen = variants({"sqlite": engine}, load_fit(LOOP))
        chosen = {name: chosen[name] for name in ("plain", "candidate_sqlite")}
        entry = summarise(workload, measure(workload, chosen, 1))
    assert entry["ratios"]["candidate_sqlite"] > 0
    assert entry["same_final_loss"]


def test_a_size_run_on_its_own_database(tmp_path: Path) -> None:
    with sqlite_database(tmp_path) as engine:
        size = metrics_at_size(engine, epochs=30, repetitions=1)
    assert size["core_all"]["epochs_returned"] == 30
    assert size["http_since_epoch"]["epochs_returned"] == 10


@pytest.fixture
def polled_job(migrated_database: Engine) -> tuple[uuid.UUID, str]:
    with session_scope(migrated_database) as session:
        user, token = users.create(session, name=f"poll-{uuid.uuid4().hex[:8]}")
        job = jobs.create(session, owner_id=user.id, name=None, spec={}, epochs=40)
        records = [EpochRecord(epoch=e, step=e, values={"train_loss": 1 / e}) for e in range(1, 41)]
        metrics.write_epochs(session, job_id=job.id, records=records)
    return job.id, token


def test_load_generator_sends_the_planned_requests(polled_job: tuple[uuid.UUID, str]) -> None:
    job_id, token = polled_job
    app = create_app()

    def client() -> TestClient:
        return TestClient(app, headers={"Authorization": f"Bearer {token}"})

    poller = Poller(str(job_id))
    phase = OpenLoop(client, poller, rate=40, seconds=0.25, threads=2)
    phase.start()
    phase.join()
    report = phase.report()
    assert (report["requests"], report["failures"]) == (10, 0)
    assert report["latency_s"]["p99"] > 0
    burst = closed_loop(client, Poller(str(job_id)), seconds=0.2, threads=2)
    assert burst["requests"] > 0
    assert burst["failures"] == 0


def test_load_generator_counts_refused_requests() -> None:
    def client() -> TestClient:
        return TestClient(create_app())

    phase = OpenLoop(client, Poller(str(uuid.uuid4())), rate=50, seconds=0.1, threads=1)
    phase.start()
    phase.join()
    assert phase.report()["failures"] == 5


def _stack_entry() -> dict[str, Any]:
    part = {"median": 0.1, "p95": 0.2, "p99": 0.3, "n": 3, "min": 0.0, "max": 0.3}
    traffic = {"target_per_s": 200, "requests": 2000, "failures": 0, "per_s": 199.0}
    return {
        "end_to_end": {
            "jobs": 3,
            "epochs_per_job": 20,
            **dict.fromkeys(PARTS, part),
        },
        "api_under_load": {
            "polls": traffic | {"latency_s": part | {"p99": 0.04}},
            "submissions": traffic | {"latency_s": part},
            "polls_max_rate": traffic | {"target_per_s": None, "latency_s": part, "threads": 8},
        },
    }


def test_table_has_a_row_per_measurement(quick_results: dict[str, Any]) -> None:
    results = quick_results | {"stacks": {"postgres+redis": _stack_entry()}}
    lines = table(results).splitlines()
    assert "2 cores" in lines[0] or "cores" in lines[0]
    rows = [line for line in lines if line.startswith("| ") and "---" not in line][1:]
    assert len(rows) == 2 + 1 + 3 + 1
    end_to_end = next(row for row in rows if row.startswith("| end to end"))
    assert end_to_end.endswith("| p95 < 0.5 s on Redis | yes |")
    polls = next(row for row in rows if "metric polls" in row)
    assert polls.endswith("| yes |")
