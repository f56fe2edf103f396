"""`gradq datasets upload / list / show / delete` against a running API."""

import json
from pathlib import Path

from cli.output import ExitCode
from tests.cli.conftest import Invoke

ROWS = "a,b,label\n0.1,0.2,0\n0.3,0.4,1\n0.5,0.6,0\n0.7,0.8,1\n"


def test_upload_list_show_delete(gradq: Invoke, tmp_path: Path) -> None:
    path = tmp_path / "points.csv"
    path.write_text(ROWS)
    uploaded = gradq("datasets", "upload", str(path), "--target", "label", "--json")
    assert uploaded.exit_code == 0, uploaded.output
    dataset = json.loads(uploaded.stdout)
    assert (dataset["n_rows"], dataset["sample_shape"]) == (4, [2])
    listed = gradq("datasets", "list")
    assert dataset["id"] in listed.stdout
    assert "points" in listed.stdout
    shown = gradq("datasets", "show", dataset["id"])
    assert "class_counts" in shown.stdout
    assert gradq("datasets", "delete", dataset["id"]).exit_code == 0
    assert json.loads(gradq("datasets", "list", "--json").stdout) == []


def test_a_bad_upload_names_the_problem(gradq: Invoke, tmp_path: Path) -> None:
    path = tmp_path / "points.csv"
    path.write_text(ROWS)
    result = gradq("datasets", "upload", str(path), "--target", "nope")
    assert result.exit_code == ExitCode.ERROR
    assert "nope" in result.stderr
    assert "Traceback" not in result.output
