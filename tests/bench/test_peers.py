"""The optional peers: reported as not installed without their package, measured beside plain."""

import importlib.util
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from bench import runner
from bench.peers import PEERS, Peer, PeerSession, lightning_moons, mlflow_moons, run_peers
from bench.plain import plain_fit, recording_fit
from bench.report import table
from bench.workloads import WORKLOADS, PlainSetup

MOONS = WORKLOADS["moons"].sized(0.01)


def _installed(peer: Peer) -> bool:
    return any(importlib.util.find_spec(name.split(".")[0]) for name in peer.modules)


@contextmanager
def _never_opened(module: ModuleType, directory: Path) -> Iterator[PeerSession]:
    raise AssertionError(f"{module} opened in {directory}")
    yield


def test_a_peer_that_does_not_import_is_not_installed(tmp_path: Path) -> None:
    absent = Peer("Absent", ("gradq_no_such_package.api",), _never_opened)
    results = run_peers(MOONS, 1, tmp_path, {"absent": absent})
    assert results["by_peer"]["absent"] == {
        "label": "Absent",
        "status": "not installed",
        "modules": ["gradq_no_such_package.api"],
    }
    row = table({"machine": _machine(), "peers": results}).splitlines()[-1]
    expected = "| peer | moons (200 samples, 10 epochs): Absent | not installed (pip install"
    assert row.startswith(expected)
    assert row.endswith("| - | - |")


class _CountingPlainLoop:
    """A peer that is the plain loop itself, counting how often it trains."""

    def __init__(self) -> None:
        self.trained = 0

    @contextmanager
    def session(self, module: ModuleType, directory: Path) -> Iterator[PeerSession]:
        assert directory.is_dir()
        yield PeerSession(self.fit, f"the plain loop again, {module.__name__} imported")

    def fit(self, setup: PlainSetup) -> float:
        self.trained += 1
        return plain_fit(setup)[-1]


def test_a_peer_is_measured_in_turn_with_the_plain_loop(tmp_path: Path) -> None:
    peer = _CountingPlainLoop()
    results = run_peers(MOONS, 3, tmp_path, {"again": Peer("Again", ("torch",), peer.session)})
    entry = results["by_peer"]["again"]
    assert peer.trained == 1 + 3
    assert (entry["status"], entry["note"]) == ("measured", "the plain loop again, torch imported")
    assert len(entry["plain_samples_s"]) == len(entry["peer_samples_s"]) == 3
    assert entry["ratio"] == entry["peer_s"] / entry["plain_s"] > 0
    assert entry["same_final_loss"]
    assert entry["final_train_loss"] == plain_fit(MOONS.plain(MOONS.spec))[-1]
    row = table({"machine": _machine(), "peers": results}).splitlines()[-1]
    assert f"ratio {entry['ratio']:.2f} (the plain loop again" in row


def test_a_peer_that_fails_is_reported_and_the_run_goes_on(tmp_path: Path) -> None:
    @contextmanager
    def broken(module: ModuleType, directory: Path) -> Iterator[PeerSession]:
        raise RuntimeError(f"no {module.__name__} in {directory.name}")
        yield

    results = run_peers(MOONS, 1, tmp_path, {"broken": Peer("Broken", ("torch",), broken)})
    assert results["by_peer"]["broken"]["status"] == "failed: RuntimeError: no torch in broken"


def test_peers_section_of_the_command_line(tmp_path: Path) -> None:
    output = tmp_path / "results.json"
    assert runner.main(["--quick", "--only", "peers", "--output", str(output)]) == 0
    results = json.loads(output.read_text())
    assert set(results) >= {"machine", "peers"}
    assert "overhead" not in results
    by_peer = results["peers"]["by_peer"]
    assert set(by_peer) == set(PEERS)
    for name, entry in by_peer.items():
        assert entry["status"] == ("measured" if _installed(PEERS[name]) else "not installed")
    rows = [line for line in table(results).splitlines() if line.startswith("| peer |")]
    labels = [row.split(" | ")[1].rsplit(": ", 1)[1] for row in rows]
    assert labels == ["Lightning", "plain + MLflow"]


def test_lightning_trains_the_plain_loops_numbers(tmp_path: Path) -> None:
    pl = pytest.importorskip("lightning.pytorch")
    loss = lightning_moons(pl, tmp_path, MOONS.plain(MOONS.spec))
    assert loss == pytest.approx(plain_fit(MOONS.plain(MOONS.spec))[-1], rel=1e-5)


def test_mlflow_run_holds_every_epoch_the_plain_loop_records(tmp_path: Path) -> None:
    mlflow = pytest.importorskip("mlflow")
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path}/mlflow.db")
    mlflow.set_experiment("test_peers")
    mlflow_moons(mlflow, MOONS.plain(MOONS.spec))
    run = mlflow.last_active_run()
    history = mlflow.MlflowClient().get_metric_history(run.info.run_id, "train_loss")
    expected = [epoch["train_loss"] for epoch in recording_fit(MOONS.plain(MOONS.spec))]
    assert [point.step for point in history] == list(range(MOONS.epochs))
    assert [point.value for point in history] == pytest.approx(expected, rel=1e-6)
    assert set(run.data.metrics) == {"train_loss", "train_accuracy", "lr/0"}


def _machine() -> dict[str, Any]:
    return {"cpu": "test", "cores": 2, "memory_gib": 1, "torch": "-", "python": "-"}
