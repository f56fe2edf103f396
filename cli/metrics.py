"""`gradq metrics`: a job's per-epoch metrics as a table, CSV or JSON, optionally followed."""

import csv
import json
import sys
import time
from collections.abc import Sequence
from typing import Annotated, Any

import typer
from rich.table import Table

from cli.output import JsonOption, api_client, number, print_json, stdout
from gradq_client import Job
from gradq_client.epochs import epochs_to_csv, flatten_epoch

POLL_SECONDS = 0.5


def _keys(value: str | None) -> list[str] | None:
    return [key.strip() for key in value.split(",") if key.strip()] if value else None


def _columns(rows: Sequence[dict[str, Any]], keys: Sequence[str] | None) -> list[str]:
    """`epoch`, then the selected keys (all when none), `lr` standing for every lr/<group>."""
    present = list(dict.fromkeys(key for row in rows for key in row if key != "epoch"))
    if not keys:
        return ["epoch", *present]
    columns = ["epoch"]
    for key in keys:
        columns += [k for k in present if k.startswith("lr/")] if key == "lr" else [key]
    return list(dict.fromkeys(columns))


def _table(items: list[dict[str, Any]], keys: Sequence[str] | None) -> Table:
    rows = [flatten_epoch(item) for item in items]
    columns = _columns(rows, keys)
    table = Table(*columns, box=None)
    for row in rows:
        table.add_row(*(number(row.get(column)) for column in columns))
    return table


class _Follower:
    """Prints epochs as they arrive, in one format, with the columns fixed by the first batch."""

    def __init__(self, fmt: str, keys: Sequence[str] | None) -> None:
        self.fmt, self.keys = fmt, keys
        self.columns: list[str] | None = None

    def emit(self, items: list[dict[str, Any]]) -> None:
        if self.fmt == "json":
            sys.stdout.writelines(json.dumps(item) + "\n" for item in items)
            sys.stdout.flush()
            return
        rows = [flatten_epoch(item) for item in items]
        if rows and self.columns is None:
            self.columns = _columns(rows, self.keys)
            self._write([self.columns])
        if self.columns is not None:
            self._write([[number(row.get(column)) for column in self.columns] for row in rows])

    def _write(self, lines: list[list[str]]) -> None:
        if self.fmt == "csv":
            csv.writer(sys.stdout, lineterminator="\n").writerows(lines)
        else:
            sys.stdout.writelines("".join(f"{cell:>14}" for cell in line) + "\n" for line in lines)
        sys.stdout.flush()


def _follow(job: Job, follower: _Follower, since_epoch: int, keys: list[str] | None) -> None:
    while True:
        job.refresh()  # read the status first: once finished, the next read has every epoch
        items = job.metrics(since_epoch=since_epoch, keys=keys)
        follower.emit(items)
        if items:
            since_epoch = int(items[-1]["epoch"])
        if job.finished:
            return
        time.sleep(POLL_SECONDS)


def metrics(
    ctx: typer.Context,
    job_id: Annotated[str, typer.Argument(help="The job id.", show_default=False)],
    as_csv: Annotated[bool, typer.Option("--csv", help="Print CSV.")] = False,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing new epochs until the job ends.")
    ] = False,
    keys: Annotated[
        str | None, typer.Option(help="Only these series, e.g. train_loss,val_loss,lr.")
    ] = None,
    since: Annotated[int, typer.Option(min=0, help="Only epochs after this one.")] = 0,
    as_json: JsonOption = False,
) -> None:
    """A job's per-epoch metrics: loss, accuracy, lr of each group, timing."""
    selected = _keys(keys)
    with api_client(ctx) as client:
        job = client.job(job_id)
        if follow:
            fmt = "json" if as_json else "csv" if as_csv else "text"
            try:
                _follow(job, _Follower(fmt, selected), since, selected)
            except KeyboardInterrupt:
                return
            return
        if as_csv and since == 0:
            sys.stdout.write(job.metrics_csv(keys=selected))
            return
        items = job.metrics(since_epoch=since, keys=selected)
    if as_json:
        print_json(items)
    elif as_csv:
        sys.stdout.write(epochs_to_csv(items))
    else:
        stdout().print(_table(items, selected))
