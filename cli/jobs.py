"""Job commands: submit, list, status, watch, cancel, weights."""

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cli.output import (
    ExitCode,
    JsonOption,
    api_client,
    api_errors,
    info,
    job_exit_code,
    labelled,
    local_time,
    number,
    print_json,
    stdout,
)
from cli.specfile import read_spec_file
from gradq_client import Job

JobId = Annotated[str, typer.Argument(help="The job id.", show_default=False)]


class Which(StrEnum):
    FINAL = "final"
    BEST = "best"


POLL_SECONDS = 0.5
SUMMARY_KEYS = ("train_loss", "val_loss", "train_accuracy", "val_accuracy", "test_loss")


def follow(job: Job, *, as_json: bool) -> ExitCode:
    """Follow a job to its end with a progress bar; Ctrl-C detaches and leaves it running."""
    if not as_json:
        info(f"following job {job.id}; Ctrl-C detaches (the job keeps running)")
    try:
        with api_errors():
            job.wait(progress=not as_json, poll_interval=POLL_SECONDS)
    except KeyboardInterrupt:
        info(f"detached: job {job.id} keeps running (gradq watch {job.id}; gradq cancel {job.id})")
        return ExitCode.DETACHED
    if as_json:
        print_json(job.data)
    else:
        print_outcome(job)
    return job_exit_code(job)


def print_outcome(job: Job) -> None:
    metrics = job.final_metrics
    shown = ", ".join(f"{key} {number(metrics[key])}" for key in SUMMARY_KEYS if key in metrics)
    line = f"job {job.id} {job.status.value} after {job.current_epoch} epochs"
    line += f" ({job.stop_reason})" if job.stop_reason and job.stop_reason != "completed" else ""
    stdout().print(line + (f": {shown}" if shown else ""), markup=False)
    if job.error:
        labelled("error", "red", job.error)


def _print_queued(job: Job, *, as_json: bool) -> None:
    if as_json:
        print_json(job.data)
    else:
        stdout().print(job.id, markup=False)


def submit(
    ctx: typer.Context,
    spec_file: Annotated[Path, typer.Argument(help="A spec in YAML or JSON ('-' for stdin).")],
    name: Annotated[str | None, typer.Option(help="Job name (default: the file's name).")] = None,
    priority: Annotated[int | None, typer.Option(help="Queue priority, where supported.")] = None,
    no_wait: Annotated[bool, typer.Option("--no-wait", help="Print the id and return.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Submit a training spec, then follow the job until it ends (exit 0 on success)."""
    with api_client(ctx) as client:
        loaded = read_spec_file(spec_file)
        job = client.submit(loaded.spec, name=name or loaded.name, priority=priority)
        for warning in job.warnings:
            labelled("warning", "yellow", warning)
        if no_wait:
            _print_queued(job, as_json=as_json)
            return
        if not as_json:
            info(f"submitted job {job.id} ({job.name or 'unnamed'})")
        code = follow(job, as_json=as_json)
    raise typer.Exit(code)


def watch(ctx: typer.Context, job_id: JobId, as_json: JsonOption = False) -> None:
    """Follow a job until it ends; exit 0 on success, 3 on failure, 4 on cancel."""
    with api_client(ctx) as client:
        code = follow(client.job(job_id), as_json=as_json)
    raise typer.Exit(code)


def list_jobs(
    ctx: typer.Context,
    status: Annotated[str | None, typer.Option(help="Only jobs with this status.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many jobs.")] = 50,
    as_json: JsonOption = False,
) -> None:
    """Your jobs, newest first (every job, for an admin)."""
    with api_client(ctx) as client:
        jobs = client.jobs(status=status, limit=limit)
    if as_json:
        print_json([job.data for job in jobs])
        return
    table = Table(box=None)
    table.add_column("id", no_wrap=True, min_width=36)
    for column in ("name", "status", "epoch", "created", "train_loss"):
        table.add_column(column)
    for job in jobs:
        table.add_row(
            job.id,
            job.name or "-",
            job.status.value,
            f"{job.current_epoch}/{job.epochs}",
            local_time(job.created_at),
            number(job.final_metrics.get("train_loss")),
        )
    stdout().print(table)


def status(ctx: typer.Context, job_id: JobId, as_json: JsonOption = False) -> None:
    """A job's state, progress, final and best metrics, and its events."""
    with api_client(ctx) as client:
        job = client.job(job_id)
        events = job.events()
    if as_json:
        print_json(job.data | {"events": events})
        return
    console = stdout()
    facts = Table.grid(padding=(0, 2))
    for label, value in (
        ("id", job.id),
        ("name", job.name or "-"),
        ("status", job.status.value),
        ("epoch", f"{job.current_epoch}/{job.epochs}"),
        ("created", local_time(job.created_at)),
        ("started", local_time(job.started_at)),
        ("finished", local_time(job.finished_at)),
        ("stop reason", job.stop_reason or "-"),
        ("best epoch", str(job.best_epoch) if job.best_epoch is not None else "-"),
        ("error", job.error or "-"),
    ):
        facts.add_row(label, value)
    console.print(facts)
    if job.final_metrics:
        console.print(_metrics_table("final metrics", job.final_metrics))
    best = job.data.get("best_metrics")
    if best:
        console.print(_metrics_table("best epoch's metrics", best))
    if events:
        console.print(_events_table(events))


def _metrics_table(title: str, metrics: dict[str, object]) -> Table:
    table = Table("metric", "value", title=title, title_justify="left", box=None)
    for key, value in metrics.items():
        table.add_row(key, number(value))
    return table


def _events_table(events: list[dict[str, object]]) -> Table:
    table = Table("at", "event", "epoch", "details", title="events", title_justify="left", box=None)
    for event in events:
        data = event.get("data") or {}
        details = ", ".join(f"{k}={v}" for k, v in data.items()) if isinstance(data, dict) else ""
        epoch = event.get("epoch")
        table.add_row(
            str(event.get("at", ""))[:19], str(event.get("kind")), str(epoch or ""), details
        )
    return table


def cancel(ctx: typer.Context, job_id: JobId, as_json: JsonOption = False) -> None:
    """Cancel a job: a queued one never starts, a running one stops after its current epoch."""
    with api_client(ctx) as client:
        job = client.job(job_id).cancel()
    if as_json:
        print_json(job.data)
    elif job.finished:
        stdout().print(f"job {job.id} {job.status.value}", markup=False)
    else:
        stdout().print(f"job {job.id} will stop after its current epoch", markup=False)


def weights(
    ctx: typer.Context,
    job_id: JobId,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="File (default: <job id>.safetensors).")
    ] = None,
    which: Annotated[
        Which, typer.Option(help="The last epoch's or the best epoch's weights.")
    ] = Which.FINAL,
) -> None:
    """Download a finished job's trained weights as a safetensors file."""
    path = output or Path(f"{job_id}.safetensors")
    with api_client(ctx) as client:
        client.job(job_id).save_weights(path, which="best" if which == Which.BEST else "final")
    stdout().print(f"wrote {path} ({path.stat().st_size:,} bytes)", markup=False)
