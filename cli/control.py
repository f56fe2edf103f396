"""`gradq pause / resume / clone`: control a job beyond cancel."""

import json
from typing import Annotated, Any

import typer

from cli.output import JsonOption, api_client, print_json, stdout
from gradq_client import Job, JobStatus

JobId = Annotated[str, typer.Argument(help="The job id.", show_default=False)]


def parse_value(text: str) -> Any:
    """JSON where it parses (0.1, true, [1, 2], {"a": 1}, "x"), else the text as a string."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def parse_overrides(assignments: list[str]) -> dict[str, Any]:
    """["optimizer.lr=0.1", "training.epochs=5"] -> {"optimizer": {"lr": 0.1}, ...}."""
    overrides: dict[str, Any] = {}
    for assignment in assignments:
        path, sep, text = assignment.partition("=")
        keys = path.strip().split(".")
        if not sep or not all(keys):
            raise typer.BadParameter(f"{assignment!r}: expected key.path=value", param_hint="--set")
        node = overrides
        for key in keys[:-1]:
            child = node.setdefault(key, {})
            if not isinstance(child, dict):
                raise typer.BadParameter(f"{path!r} sets inside a value", param_hint="--set")
            node = child
        node[keys[-1]] = parse_value(text)
    return overrides


def _print(job: Job, message: str, *, as_json: bool) -> None:
    if as_json:
        print_json(job.data)
    else:
        stdout().print(message, markup=False)


def pause(ctx: typer.Context, job_id: JobId, as_json: JsonOption = False) -> None:
    """Pause a job: a queued one leaves the queue, a running one checkpoints and stops."""
    with api_client(ctx) as client:
        job = client.job(job_id).pause()
    done = job.status == JobStatus.PAUSED
    message = f"job {job.id} paused" if done else f"job {job.id} will pause after a checkpoint"
    _print(job, message, as_json=as_json)


def resume(ctx: typer.Context, job_id: JobId, as_json: JsonOption = False) -> None:
    """Put a paused job back in the queue; it continues from its last checkpoint."""
    with api_client(ctx) as client:
        job = client.job(job_id).resume()
    _print(job, f"job {job.id} queued again", as_json=as_json)


def clone(
    ctx: typer.Context,
    job_id: JobId,
    assignments: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="Change the spec: key.path=value (value read as JSON when it parses), repeatable.",
        ),
    ] = None,
    name: Annotated[str | None, typer.Option(help="Name (default: the job's).")] = None,
    priority: Annotated[int | None, typer.Option(help="Priority (default: the job's).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Queue a copy of a job with some of its spec changed; prints the new job's id."""
    overrides = parse_overrides(assignments or [])
    with api_client(ctx) as client:
        job = client.job(job_id).clone(overrides, name=name, priority=priority)
    _print(job, job.id, as_json=as_json)
