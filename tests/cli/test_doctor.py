"""`gradq doctor` against the test server, its database and its embedded broker."""

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import torch
from sqlalchemy import update

from cli import doctor
from cli.doctor import check_gpus
from cli.output import ExitCode
from core import jobs, users
from core.db import session_scope
from core.settings import get_settings
from models import Job
from tests.cli.conftest import Invoke, User
from tests.helpers import moons_spec


def _checks(gradq: Invoke) -> tuple[int, dict[str, dict[str, str]]]:
    result = gradq("doctor", "--json")
    return result.exit_code, {check["name"]: check for check in json.loads(result.stdout)}


def test_doctor_checks_every_part(gradq: Invoke) -> None:
    _, checks = _checks(gradq)
    expected = ["data dir", "database", "migrations", "broker", "workers", "queue", "gpus", "api"]
    assert list(checks) == [*expected, "token"]
    for name in ("database", "migrations", "broker", "api", "token"):
        assert checks[name]["status"] == "ok", checks[name]
    assert "GRADQ_TOKEN" in checks["token"]["detail"]


def test_the_queue_counts_come_from_the_database(user: User) -> None:
    _, queued_before, _ = doctor.running_jobs()
    old = datetime.now(UTC) - timedelta(hours=1)
    with session_scope() as session:
        owner = users.get_by_name(session, name=user.name)
        assert owner is not None
        job = jobs.create(session, owner_id=owner.id, name="stuck", spec=moons_spec(), epochs=3)
        session.execute(update(Job).where(Job.id == job.id).values(created_at=old))
    _, queued, oldest = doctor.running_jobs()
    assert queued == queued_before + 1
    assert oldest is not None
    assert oldest.replace(tzinfo=oldest.tzinfo or UTC) <= old
    with session_scope() as session:
        jobs.request_cancel(session, job=session.get_one(Job, job.id))


@pytest.mark.parametrize(("running", "status"), [(0, "fail"), (1, "ok")])
def test_a_stale_queue_fails_only_when_nothing_runs(
    gradq: Invoke, monkeypatch: pytest.MonkeyPatch, running: int, status: str
) -> None:
    old = datetime.now(UTC) - timedelta(hours=1)
    monkeypatch.setattr(doctor, "running_jobs", lambda: (running, 3, old))
    code, checks = _checks(gradq)
    assert checks["queue"]["status"] == status
    assert "3 queued (oldest 3600 s)" in checks["queue"]["detail"]
    if status == "fail":
        assert code == ExitCode.ERROR
        assert "is a worker up?" in checks["queue"]["detail"]


def test_doctor_reports_a_wrong_token_and_a_missing_server(
    gradq: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRADQ_TOKEN", f"gq_{uuid.uuid4().hex}")
    code, checks = _checks(gradq)
    assert code == ExitCode.ERROR
    assert checks["token"]["status"] == "fail"
    monkeypatch.setenv("GRADQ_URL", "http://127.0.0.1:9")
    code, checks = _checks(gradq)
    assert checks["api"]["status"] == "fail"
    assert "cannot reach" in checks["api"]["detail"]


def test_doctor_table(gradq: Invoke) -> None:
    result = gradq("doctor")
    for name in ("database", "broker", "workers", "gpus"):
        assert name in result.stdout


def test_doctor_names_each_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    class Properties:
        name = "NVIDIA H200"
        total_memory = 141 * 1024**3

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "get_device_properties", lambda _index: Properties())
    check = check_gpus(get_settings())
    assert (check.status, check.detail) == (
        "ok",
        "cuda:0 NVIDIA H200 141 GiB; cuda:1 NVIDIA H200 141 GiB",
    )
