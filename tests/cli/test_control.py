"""`gradq queue / pause / resume / clone` against a running API, and --set parsing."""

import json
from pathlib import Path

import pytest
import typer
import yaml

from cli.control import parse_overrides
from cli.output import ExitCode
from tests.cli.conftest import Invoke
from tests.helpers import moons_spec


def _submit(gradq: Invoke, tmp_path: Path) -> str:
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(moons_spec(epochs=3)))
    result = gradq("submit", str(path), "--no-wait")
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


def _status(gradq: Invoke, job_id: str) -> dict[str, object]:
    shown: dict[str, object] = json.loads(gradq("status", job_id, "--json").stdout)
    return shown


def test_queue_lists_my_job_as_mine(gradq: Invoke, tmp_path: Path) -> None:
    job_id = _submit(gradq, tmp_path)
    table = gradq("queue")
    assert table.exit_code == 0, table.output
    [line] = [line for line in table.stdout.splitlines() if job_id in line]
    assert "spec" in line
    assert "you" in line
    items = json.loads(gradq("queue", "--json").stdout)
    [mine] = [item for item in items if item["job_id"] == job_id]
    assert mine["mine"] is True
    assert mine["position"] >= 1


def test_pause_and_resume(gradq: Invoke, tmp_path: Path) -> None:
    job_id = _submit(gradq, tmp_path)
    paused = gradq("pause", job_id)
    assert paused.exit_code == 0, paused.output
    assert paused.stdout.strip() == f"job {job_id} paused"
    assert _status(gradq, job_id)["status"] == "paused"
    again = gradq("pause", job_id)
    assert again.exit_code == ExitCode.ERROR
    assert "paused" in again.stderr
    resumed = gradq("resume", job_id, "--json")
    assert resumed.exit_code == 0, resumed.output
    assert json.loads(resumed.stdout)["status"] == "queued"


def test_clone_with_set_and_name(gradq: Invoke, tmp_path: Path) -> None:
    job_id = _submit(gradq, tmp_path)
    result = gradq(
        "clone", job_id, "--set", "optimizer.lr=0.05", "--set", "training.epochs=4", "--name", "c"
    )
    assert result.exit_code == 0, result.output
    clone = _status(gradq, result.stdout.strip())
    assert (clone["name"], clone["epochs"], clone["status"]) == ("c", 4, "queued")
    spec = clone["spec"]
    assert isinstance(spec, dict)
    assert spec["optimizer"]["lr"] == 0.05


def test_clone_refusals_name_the_problem(gradq: Invoke, tmp_path: Path) -> None:
    job_id = _submit(gradq, tmp_path)
    bad_value = gradq("clone", job_id, "--set", "optimizer.lr=-1")
    assert bad_value.exit_code == ExitCode.ERROR
    assert "spec.optimizer.lr" in bad_value.stderr
    bad_syntax = gradq("clone", job_id, "--set", "optimizer.lr")
    assert bad_syntax.exit_code == ExitCode.USAGE
    assert "key.path=value" in bad_syntax.output


def test_set_values_are_json_when_they_parse() -> None:
    assert parse_overrides(
        ["optimizer.lr=0.1", "optimizer.betas=[0.8, 0.9]", "name=moons", "training.x=true"]
    ) == {
        "optimizer": {"lr": 0.1, "betas": [0.8, 0.9]},
        "name": "moons",
        "training": {"x": True},
    }
    with pytest.raises(typer.BadParameter):
        parse_overrides(["a=1", "a.b=2"])
    with pytest.raises(typer.BadParameter):
        parse_overrides(["a..b=1"])
