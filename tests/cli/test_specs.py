"""`gradq validate / catalog / preview-lr` against a running API, and the terminal plot."""

import json
import math
from pathlib import Path

import pytest
import yaml

from cli.output import ExitCode
from cli.plot import MARK, text_plot
from tests.cli.conftest import Invoke
from tests.helpers import moons_spec

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_validate_prints_the_summary_table(gradq: Invoke) -> None:
    result = gradq("validate", str(EXAMPLES / "testnet-summary.yaml"))
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "conv1 (Conv2d)" in out
    assert "[-1, 16, 10, 10]" in out
    assert "160,100" in out
    assert "total params: 166,108" in out
    assert "8 steps per epoch" in out


def test_validate_prints_warnings(gradq: Invoke, tmp_path: Path) -> None:
    spec = moons_spec()
    spec["loss"] = {"type": "NLLLoss"}
    path = tmp_path / "nll.yaml"
    path.write_text(yaml.safe_dump(spec))
    result = gradq("validate", str(path))
    assert result.exit_code == 0, result.output
    assert "warning: spec." in result.stderr
    assert "LogSoftmax" in result.stderr


def test_validate_rejects_with_field_and_reason(gradq: Invoke, tmp_path: Path) -> None:
    spec = moons_spec()
    spec["model"]["layers"][0]["out_features"] = -3
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(spec))
    result = gradq("validate", str(path))
    assert result.exit_code == ExitCode.ERROR
    assert "spec.model.layers.0.out_features: " in result.stderr


def test_validate_json_is_the_servers_answer(gradq: Invoke) -> None:
    body = json.loads(gradq("validate", str(EXAMPLES / "moons.yaml"), "--json").stdout)
    assert body["valid"] is True
    assert body["dry_run"]["summary"]["total_params"] == 17


def test_catalog_lists_kinds_and_one_types_parameters(gradq: Invoke) -> None:
    everything = json.loads(gradq("catalog", "--json").stdout)
    assert {"layers", "losses", "optimizers", "schedulers"} <= set(everything)
    table = gradq("catalog", "optimizer").stdout
    assert "Ranger" in table
    assert "Linear" not in table
    adam = gradq("catalog", "optimizers", "Adam")
    assert adam.exit_code == 0
    assert "betas" in adam.stdout
    assert "amsgrad" in adam.stdout


def test_catalog_unknown_names(gradq: Invoke) -> None:
    kind = gradq("catalog", "widgets")
    assert kind.exit_code == ExitCode.ERROR
    assert "kind: " in kind.stderr
    entry = gradq("catalog", "optimizers", "Adamm")
    assert entry.exit_code == ExitCode.ERROR
    assert "no type 'Adamm'" in entry.stderr


def test_preview_lr_plots_the_schedule(gradq: Invoke, tmp_path: Path) -> None:
    png = tmp_path / "lr.png"
    result = gradq("preview-lr", str(EXAMPLES / "moons.yaml"), "--png", str(png))
    assert result.exit_code == 0, result.output
    assert "lr 0.01 -> 0.00817907 over 1000 epochs" in result.stdout
    assert MARK in result.stdout
    assert png.read_bytes().startswith(b"\x89PNG")
    preview = json.loads(gradq("preview-lr", str(EXAMPLES / "moons.yaml"), "--json").stdout)
    assert len(preview["lr_per_epoch"]) == 1000


def test_preview_lr_needs_a_scheduler(gradq: Invoke, tmp_path: Path) -> None:
    spec = moons_spec()
    del spec["scheduler"]
    path = tmp_path / "flat.yaml"
    path.write_text(yaml.safe_dump(spec))
    result = gradq("preview-lr", str(path))
    assert result.exit_code == ExitCode.ERROR
    assert "no scheduler" in result.stderr


def test_text_plot_keeps_extremes_of_each_column() -> None:
    values = [1.0] * 1000
    values[500] = 2.0  # one spike among 1000 points, 16 points per column
    lines = text_plot(values, width=64, height=5).splitlines()
    assert lines[0].count(MARK) == 1  # the spike reaches the top row
    assert lines[4].count(MARK) == 64  # every column touches the floor
    assert lines[0].strip().startswith("2 ")
    assert lines[-1].strip().endswith("1000 epochs")


def test_text_plot_log_axis_labels_are_values() -> None:
    values = [10.0 ** -(i / 10) for i in range(31)]
    lines = text_plot(values, height=7, log=True).splitlines()
    assert float(lines[0].split()[0]) == pytest.approx(1.0)
    assert float(lines[3].split()[0]) == pytest.approx(math.sqrt(1e-3), rel=1e-3)
    assert float(lines[6].split()[0]) == pytest.approx(1e-3)


def test_messages_are_printed_as_they_are_not_as_markup(gradq: Invoke) -> None:
    result = gradq("catalog", "optimizers", "[bold]Adam[/bold]")
    assert result.exit_code == ExitCode.ERROR
    assert "no type '[bold]Adam[/bold]'" in result.stderr
