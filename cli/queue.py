"""`gradq queue`: every queued job in the order it will run."""

from datetime import datetime
from typing import Any

import typer
from rich.table import Table

from cli.output import JsonOption, api_client, local_time, print_json, stdout


def _time(value: Any) -> str:
    return local_time(datetime.fromisoformat(value)) if isinstance(value, str) else "-"


def _owner(item: dict[str, Any]) -> str:
    return "you" if item.get("mine") else item.get("owner") or "-"


def queue(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """The queue in order, with estimated starts; other users' jobs show only their place."""
    with api_client(ctx) as client:
        items = client.queue()
    if as_json:
        print_json(items)
        return
    if not items:
        stdout().print("the queue is empty")
        return
    table = Table(box=None)
    table.add_column("#", justify="right")
    table.add_column("id", no_wrap=True, min_width=36)
    for column in ("name", "owner", "priority", "epochs", "queued", "estimated start"):
        table.add_column(column)
    for item in items:
        table.add_row(
            str(item["position"]),
            str(item["job_id"]),
            item.get("name") or "-",
            _owner(item),
            str(item["priority"]),
            str(item["epochs"]),
            _time(item.get("queued_at")),
            _time(item.get("estimated_start_at")),
        )
    stdout().print(table)
