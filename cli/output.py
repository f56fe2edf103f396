"""What the CLI prints and how it exits: consoles, --json, errors as "field: reason", exit codes."""

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from gradq_client import APIError, Client, GradqClientError, Job, JobStatus, Unsupported


class ExitCode(IntEnum):
    """`gradq` exit statuses, so scripts can tell a refused request from a failed job."""

    OK = 0
    ERROR = 1  # the request was refused, the server unreachable, a file unreadable
    USAGE = 2  # a bad command line (typer's own status)
    JOB_FAILED = 3
    JOB_CANCELLED = 4
    DETACHED = 130  # Ctrl-C while following: the job runs on


JOB_EXIT_CODES = {
    JobStatus.SUCCEEDED: ExitCode.OK,
    JobStatus.FAILED: ExitCode.JOB_FAILED,
    JobStatus.CANCELLED: ExitCode.JOB_CANCELLED,
}

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


@dataclass(frozen=True)
class Connection:
    """The global --url and --token options; None means GRADQ_URL / GRADQ_TOKEN / config."""

    url: str | None = None
    token: str | None = None

    def client(self) -> Client:
        return Client(self.url, self.token)


def connection(ctx: typer.Context) -> Connection:
    obj = ctx.find_root().obj
    return obj if isinstance(obj, Connection) else Connection()


@contextmanager
def api_client(ctx: typer.Context) -> Iterator[Client]:
    """The command's client, closed at the end; client errors in the block exit as api_errors."""
    with api_errors(), connection(ctx).client() as client:
        yield client


def stdout() -> Console:
    return Console(highlight=False, soft_wrap=True)


def stderr() -> Console:
    return Console(stderr=True, highlight=False, soft_wrap=True)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def info(message: str) -> None:
    stderr().print(message, markup=False)


def labelled(label: str, style: str, message: str) -> None:
    """`label: message` on stderr, the label coloured; the message is printed as it is."""
    stderr().print(f"[{style}]{label}:[/{style}] {escape(message)}", emoji=False)


def fail(message: str, code: ExitCode = ExitCode.ERROR) -> typer.Exit:
    """Print `error: message` on stderr and return the Exit to raise."""
    labelled("error", "red", message)
    return typer.Exit(code)


TOKEN_HINT = " (set GRADQ_TOKEN, --token, or token in ~/.config/gradq/config.toml)"


@contextmanager
def api_errors() -> Iterator[None]:
    """Turn client errors into `error: field: reason` lines and exit status 1."""
    try:
        yield
    except APIError as exc:
        lines = exc.problems or [f"HTTP {exc.status_code}"]
        if len(lines) == 1:
            labelled("error", "red", lines[0] + (TOKEN_HINT if exc.status_code == 401 else ""))
        else:
            labelled("error", "red", f"{exc.error} ({exc.status_code})")
            for line in lines:
                stderr().print(f"  {line}", markup=False, emoji=False)
        raise typer.Exit(ExitCode.ERROR) from exc
    except (Unsupported, GradqClientError, OSError, ValueError) as exc:
        raise fail(str(exc)) from exc


def local_time(value: datetime | None) -> str:
    return value.astimezone().strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def number(value: Any) -> str:
    """A metric value for a table: 6 significant digits, integers as they are."""
    if isinstance(value, bool) or value is None:
        return "-" if value is None else str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def job_exit_code(job: Job) -> ExitCode:
    return JOB_EXIT_CODES.get(job.status, ExitCode.ERROR)
