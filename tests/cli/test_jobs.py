"""`gradq submit / watch / list / status / cancel / metrics` against a running API."""

import csv
import io
import json
import uuid
from pathlib import Path

import pytest
import yaml

from cli.output import ExitCode
from gradq_client import Job
from models import JobStatus
from tests.cli.conftest import Invoke, run_job, run_when_submitted
from tests.helpers import moons_spec

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _spec_file(
    tmp_path: Path, spec: dict[str, object] | None = None, suffix: str = ".yaml"
) -> Path:
    path = tmp_path / f"spec{suffix}"
    spec = spec or moons_spec(epochs=3)
    path.write_text(yaml.safe_dump(spec) if suffix == ".yaml" else json.dumps(spec))
    return path


def _submit(gradq: Invoke, tmp_path: Path, *args: str) -> str:
    result = gradq("submit", str(_spec_file(tmp_path)), "--no-wait", *args)
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


def test_submit_no_wait_prints_the_id_of_a_queued_job(gradq: Invoke, tmp_path: Path) -> None:
    job_id = _submit(gradq, tmp_path)
    shown = json.loads(gradq("status", job_id, "--json").stdout)
    assert shown["status"] == "queued"
    assert shown["name"] == "spec"  # the file's name
    assert [event["kind"] for event in shown["events"]] == ["queued"]


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_submit_follows_the_job_to_success(gradq: Invoke, tmp_path: Path, suffix: str) -> None:
    name = f"ok-{uuid.uuid4().hex[:6]}"
    worker = run_when_submitted(name, epochs=4, delay=0.02)
    result = gradq("submit", str(_spec_file(tmp_path, suffix=suffix)), "--name", name)
    worker.join()
    assert result.exit_code == ExitCode.OK, result.output
    assert "succeeded after 4 epochs" in result.stdout
    assert "train_loss 0.25" in result.stdout


@pytest.mark.parametrize(
    ("status", "code"),
    [(JobStatus.FAILED, ExitCode.JOB_FAILED), (JobStatus.CANCELLED, ExitCode.JOB_CANCELLED)],
)
def test_submit_exit_status_tells_failure_from_cancel(
    gradq: Invoke, tmp_path: Path, status: JobStatus, code: ExitCode
) -> None:
    name = f"end-{uuid.uuid4().hex[:6]}"
    error = (
        "loss_not_finite: the loss became nan at epoch 2" if status == JobStatus.FAILED else None
    )
    worker = run_when_submitted(name, epochs=2, status=status, error=error)
    result = gradq("submit", str(_spec_file(tmp_path)), "--name", name)
    worker.join()
    assert result.exit_code == code, result.output
    assert status.value in result.stdout
    if error:
        assert error in result.stderr


def test_submit_json_prints_the_finished_job(gradq: Invoke, tmp_path: Path) -> None:
    name = f"json-{uuid.uuid4().hex[:6]}"
    worker = run_when_submitted(name, epochs=2)
    result = gradq("submit", str(_spec_file(tmp_path)), "--name", name, "--json")
    worker.join()
    assert result.exit_code == 0
    assert json.loads(result.stdout)["status"] == "succeeded"


def test_a_submission_file_carries_its_name(gradq: Invoke, tmp_path: Path) -> None:
    path = tmp_path / "job.json"
    path.write_text(json.dumps({"name": "from-file", "spec": moons_spec(epochs=2)}))
    job_id = gradq("submit", str(path), "--no-wait").stdout.strip()
    assert json.loads(gradq("status", job_id, "--json").stdout)["name"] == "from-file"


def test_submit_reads_stdin(gradq: Invoke) -> None:
    result = gradq("submit", "-", "--no-wait", input=json.dumps(moons_spec(epochs=2)))
    assert result.exit_code == 0, result.output
    uuid.UUID(result.stdout.strip())


def test_an_invalid_spec_is_field_and_reason_not_a_traceback(gradq: Invoke, tmp_path: Path) -> None:
    spec = moons_spec()
    spec["optimizer"] = {"type": "Adamm", "lr": 0.01}
    result = gradq("submit", str(_spec_file(tmp_path, spec)))
    assert result.exit_code == ExitCode.ERROR
    assert "spec.optimizer.type: " in result.stderr
    assert "'Adam'" in result.stderr  # the allowed values are named
    assert "Traceback" not in result.output


def test_an_unreadable_file_is_one_error_line(gradq: Invoke, tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("dataset: [unclosed")
    result = gradq("submit", str(path))
    assert result.exit_code == ExitCode.ERROR
    assert "not valid YAML" in result.stderr


def test_ctrl_c_detaches_and_leaves_the_job_running(
    gradq: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(_job: Job, **_kwargs: object) -> Job:
        raise KeyboardInterrupt

    monkeypatch.setattr(Job, "wait", interrupted)
    result = gradq("submit", str(_spec_file(tmp_path)))
    assert result.exit_code == ExitCode.DETACHED
    job_id = result.stderr.split("detached: job ")[1].split()[0]
    assert json.loads(gradq("status", job_id, "--json").stdout)["status"] == "queued"


def test_watch_follows_an_existing_job(gradq: Invoke, tmp_path: Path) -> None:
    job_id = _submit(gradq, tmp_path)
    run_job(job_id, epochs=3, status=JobStatus.CANCELLED)
    result = gradq("watch", job_id)
    assert result.exit_code == ExitCode.JOB_CANCELLED
    assert "cancelled after 3 epochs" in result.stdout


def test_list_shows_only_the_callers_jobs(gradq: Invoke, tmp_path: Path) -> None:
    mine = {_submit(gradq, tmp_path), _submit(gradq, tmp_path)}
    listed = json.loads(gradq("list", "--json").stdout)
    assert {job["id"] for job in listed} == mine
    table = gradq("list").stdout
    assert all(job_id in table for job_id in mine)
    assert len(json.loads(gradq("list", "--limit", "1", "--json").stdout)) == 1


def test_status_shows_final_metrics_and_events(gradq: Invoke, tmp_path: Path) -> None:
    job_id = _submit(gradq, tmp_path)
    run_job(job_id, epochs=2)
    result = gradq("status", job_id)
    assert result.exit_code == 0
    for text in ("succeeded", "2/3", "final metrics", "train_accuracy", "started", "test-worker"):
        assert text in result.stdout


def test_an_unknown_job_is_one_line(gradq: Invoke) -> None:
    missing = str(uuid.uuid4())
    result = gradq("status", missing)
    assert result.exit_code == ExitCode.ERROR
    assert f"no job {missing}" in result.stderr


def test_cancel_a_queued_job(gradq: Invoke, tmp_path: Path) -> None:
    job_id = _submit(gradq, tmp_path)
    result = gradq("cancel", job_id)
    assert result.exit_code == 0
    assert f"job {job_id} cancelled" in result.stdout
    again = gradq("cancel", job_id)
    assert again.exit_code == ExitCode.ERROR
    assert "already cancelled" in again.stderr


def test_metrics_as_table_csv_and_json(gradq: Invoke, tmp_path: Path) -> None:
    job_id = _submit(gradq, tmp_path)
    run_job(job_id, epochs=3)
    rows = list(csv.DictReader(io.StringIO(gradq("metrics", job_id, "--csv").stdout)))
    assert [int(row["epoch"]) for row in rows] == [1, 2, 3]
    assert float(rows[1]["train_loss"]) == pytest.approx(0.5)
    items = json.loads(gradq("metrics", job_id, "--json").stdout)
    assert [item["lr"] for item in items] == [[0.01]] * 3
    table = gradq("metrics", job_id, "--keys", "train_loss,lr").stdout
    assert table.split()[:3] == ["epoch", "train_loss", "lr/0"]
    assert "train_accuracy" not in table
    selected = gradq("metrics", job_id, "--csv", "--keys", "train_loss").stdout
    assert selected.splitlines()[0] == "epoch,train_loss"
    since = json.loads(gradq("metrics", job_id, "--since", "2", "--json").stdout)
    assert [item["epoch"] for item in since] == [3]


def test_metrics_follow_prints_each_epoch_once(gradq: Invoke, tmp_path: Path) -> None:
    name = f"follow-{uuid.uuid4().hex[:6]}"
    job_id = gradq("submit", str(_spec_file(tmp_path)), "--name", name, "--no-wait").stdout
    worker = run_when_submitted(name, epochs=5, delay=0.03)
    result = gradq("metrics", job_id.strip(), "--follow", "--csv", "--keys", "train_loss")
    worker.join()
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == "epoch,train_loss"
    assert [line.split(",")[0] for line in lines[1:]] == ["1", "2", "3", "4", "5"]


def test_the_moons_example_submits_as_is(gradq: Invoke) -> None:
    result = gradq("submit", str(EXAMPLES / "moons.yaml"), "--no-wait", "--json")
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["name"] == "moons"
    assert body["epochs"] == 1000
