"""`gradq datasets`: upload a data file, list, show and delete data sets."""

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from cli.output import JsonOption, api_client, print_json, stdout

datasets_app = typer.Typer(help="Upload and manage data sets.", no_args_is_help=True)

DatasetId = Annotated[str, typer.Argument(help="The data set id.", show_default=False)]


def _table(datasets: list[dict[str, Any]]) -> Table:
    table = Table(box=None)
    table.add_column("id", no_wrap=True, min_width=36)
    for column in ("name", "format", "rows", "shape"):
        table.add_column(column)
    for dataset in datasets:
        table.add_row(
            str(dataset.get("id")),
            str(dataset.get("name") or "-"),
            str(dataset.get("format") or "-"),
            f"{dataset.get('n_rows', 0):,}",
            str(tuple(dataset.get("sample_shape") or ())),
        )
    return table


@datasets_app.command("upload")
def upload(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A CSV, NPZ (arrays x, y) or Parquet file.")],
    target: Annotated[str | None, typer.Option(help="The target column (CSV, Parquet).")] = None,
    name: Annotated[str | None, typer.Option(help="A name for the data set.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Upload a data file; a spec then trains on it by its id."""
    with api_client(ctx) as client:
        dataset = client.upload_dataset(file, target=target, name=name)
    if as_json:
        print_json(dataset)
        return
    stdout().print(_table([dataset]))


@datasets_app.command("list")
def list_datasets(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Your uploaded data sets, newest first."""
    with api_client(ctx) as client:
        datasets = client.datasets()
    if as_json:
        print_json(datasets)
    else:
        stdout().print(_table(datasets))


@datasets_app.command("show")
def show(ctx: typer.Context, dataset_id: DatasetId, as_json: JsonOption = False) -> None:
    """One data set: shapes, dtypes, rows, labels and class counts."""
    with api_client(ctx) as client:
        dataset = client.dataset(dataset_id)
    if as_json:
        print_json(dataset)
        return
    facts = Table.grid(padding=(0, 2))
    for key, value in dataset.items():
        facts.add_row(key, str(value))
    stdout().print(facts)


@datasets_app.command("delete")
def delete(ctx: typer.Context, dataset_id: DatasetId) -> None:
    """Delete a data set and its file (refused while a queued or running job uses it)."""
    with api_client(ctx) as client:
        client.delete_dataset(dataset_id)
    stdout().print(f"deleted data set {dataset_id}", markup=False)
