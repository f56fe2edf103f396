"""`gradq doctor`: check the database, migrations, broker, workers, queue, GPUs, data dir, API."""

import shutil
import urllib.parse
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

import typer
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from rich.table import Table
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from cli.output import ExitCode, JsonOption, api_client, print_json, stdout
from core.db import get_engine, session_factory
from core.migrate import alembic_config
from core.settings import Settings, get_settings
from gradq_client import APIError, Client, GradqClientError
from models import Job, JobStatus

Status = Literal["ok", "warn", "fail"]
PING_SECONDS = 1.5
STALE_QUEUE = timedelta(minutes=2)
LOW_DISK_BYTES = 2 * 1024**3
STYLES = {"ok": "green", "warn": "yellow", "fail": "red"}


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str


def check_database(settings: Settings) -> Check:
    url = make_url(settings.database_url).render_as_string(hide_password=True)
    with get_engine().connect() as conn:
        conn.execute(text("SELECT 1"))
    return Check("database", "ok", url)


def check_migrations(settings: Settings) -> Check:
    heads = set(ScriptDirectory.from_config(alembic_config(settings.database_url)).get_heads())
    with get_engine().connect() as conn:
        current = set(MigrationContext.configure(conn).get_current_heads())
    if current == heads:
        return Check("migrations", "ok", f"at head {', '.join(sorted(heads))}")
    found = ", ".join(sorted(current)) or "none"
    return Check(
        "migrations", "fail", f"database at {found}, code at {', '.join(heads)}: gradq migrate"
    )


def check_broker(settings: Settings) -> Check:
    from worker.celery_app import celery_app

    with celery_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
    return Check("broker", "ok", _without_password(settings.broker_url))


def _without_password(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def running_jobs() -> tuple[int, int, datetime | None]:
    """Running jobs with a recent heartbeat, queued jobs, and the oldest queued one's time."""
    recent = datetime.now(UTC) - timedelta(
        seconds=max(30, 10 * get_settings().METRICS_FLUSH_SECONDS)
    )
    with session_factory()() as session:
        running = session.scalar(
            select(func.count()).where(Job.status == JobStatus.RUNNING, Job.heartbeat_at >= recent)
        )
        queued, oldest = session.execute(
            select(func.count(), func.min(Job.created_at)).where(Job.status == JobStatus.QUEUED)
        ).one()
    return int(running or 0), int(queued or 0), oldest


def check_workers(settings: Settings) -> Check:
    running, _, _ = running_jobs()
    busy = f"; {running} training now" if running else ""
    if settings.broker_url.startswith("sqla+"):
        detail = "the embedded broker cannot ping workers; see the queue check"
        return Check("workers", "ok" if running else "warn", detail + busy)
    from worker.celery_app import celery_app

    queues = celery_app.control.inspect(timeout=PING_SECONDS).active_queues() or {}
    serving = sorted(
        worker
        for worker, consumed in queues.items()
        if any(queue.get("name") == settings.TRAINING_QUEUE for queue in consumed)
    )
    if serving:
        return Check("workers", "ok", f"{', '.join(serving)} on {settings.TRAINING_QUEUE}{busy}")
    if running:  # a solo-pool worker does not answer while it trains
        return Check("workers", "ok", f"none answered, but {running} jobs are training")
    return Check("workers", "fail", f"no worker consumes the queue {settings.TRAINING_QUEUE!r}")


def check_queue(_settings: Settings) -> Check:
    running, queued, oldest = running_jobs()
    if not queued:
        return Check("queue", "ok", f"empty; {running} running")
    oldest = oldest.replace(tzinfo=oldest.tzinfo or UTC) if oldest else None
    waited = datetime.now(UTC) - oldest if oldest else timedelta(0)
    detail = f"{queued} queued (oldest {int(waited.total_seconds())} s), {running} running"
    if waited > STALE_QUEUE and not running:
        return Check("queue", "fail", detail + ": nothing runs them; is a worker up?")
    return Check("queue", "ok", detail)


def check_gpus(_settings: Settings) -> Check:
    import torch

    if not torch.cuda.is_available():
        return Check("gpus", "warn", f"no CUDA GPU visible (torch {torch.__version__}): CPU only")
    names = []
    for index in range(torch.cuda.device_count()):
        props = torch.cuda.get_device_properties(index)
        names.append(f"cuda:{index} {props.name} {props.total_memory / 1024**3:.0f} GiB")
    return Check("gpus", "ok", "; ".join(names))


def check_data_dir(settings: Settings) -> Check:
    path = settings.DATA_DIR.resolve()
    if not path.is_dir():
        return Check("data dir", "warn", f"{path} does not exist yet (gradq serve creates it)")
    free = shutil.disk_usage(path).free
    status: Status = "warn" if free < LOW_DISK_BYTES else "ok"
    return Check("data dir", status, f"{path}, {free / 1024**3:.1f} GiB free")


def _api(client: Client) -> list[Check]:
    ready = client.ready()
    failing = {name: value for name, value in ready.get("checks", {}).items() if value != "ok"}
    api = Check("api", "ok" if not failing else "fail", f"{client.url} {ready.get('status')}")
    try:
        client.jobs(limit=1)
    except APIError as exc:
        return [api, Check("token", "fail", f"{exc} (from {client.token_source})")]
    return [api, Check("token", "ok", f"accepted (from {client.token_source})")]


def _guard(name: str, check: Callable[[Settings], Check], settings: Settings) -> Check:
    try:
        return check(settings)
    except Exception as exc:  # a doctor reports every failure instead of stopping at the first
        return Check(name, "fail", f"{type(exc).__name__}: {exc}")


def run_checks(settings: Settings, client: Client) -> list[Check]:
    checks = [
        _guard(name, check, settings)
        for name, check in (
            ("data dir", check_data_dir),
            ("database", check_database),
            ("migrations", check_migrations),
            ("broker", check_broker),
            ("workers", check_workers),
            ("queue", check_queue),
            ("gpus", check_gpus),
        )
    ]
    try:
        checks += _api(client)
    except GradqClientError as exc:
        checks.append(Check("api", "fail", str(exc)))
    return checks


def doctor(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Check this server's database, broker, workers, queue, GPUs and API; say what is wrong."""
    with api_client(ctx) as client:
        checks = run_checks(get_settings(), client)
    if as_json:
        print_json([asdict(check) for check in checks])
    else:
        table = Table("check", "status", "detail", box=None)
        for check in checks:
            style = STYLES[check.status]
            table.add_row(check.name, f"[{style}]{check.status}[/{style}]", check.detail)
        stdout().print(table)
    if any(check.status == "fail" for check in checks):
        raise typer.Exit(ExitCode.ERROR)
