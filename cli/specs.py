"""Spec commands: validate, catalog, preview-lr."""

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from cli.output import (
    JsonOption,
    api_client,
    api_errors,
    fail,
    labelled,
    number,
    print_json,
    stderr,
    stdout,
)
from cli.plot import png_plot, text_plot
from cli.specfile import read_spec_file

SpecPath = Annotated[Path, typer.Argument(help="A spec in YAML or JSON ('-' for stdin).")]
KIND_ALIASES = {
    "layer": "layers",
    "loss": "losses",
    "optimizer": "optimizers",
    "scheduler": "schedulers",
    "schedule": "schedulers",
    "initializer": "initializers",
    "init": "initializers",
    "dataset": "datasets",
}
MB = 1024**2


def summary_table(summary: dict[str, Any]) -> Table:
    """The network summary as torchsummary prints it: layer, output shape, parameters."""
    table = Table("layer (type)", "output shape", "param #", box=None)
    for layer in summary["layers"]:
        shape = str([-1, *layer["output_shape"]])
        table.add_row(f"{layer['name']} ({layer['type']})", shape, f"{layer['params']:,}")
    return table


def _print_validation(result: dict[str, Any]) -> None:
    console = stdout()
    data, dry_run = result["dataset"], result["dry_run"]
    summary = dry_run["summary"]
    classes = f", {data['num_classes']} classes" if data.get("num_classes") else ""
    console.print(
        f"valid: {data['type']}, {data['n_samples']:,} samples of shape "
        f"{tuple(data['sample_shape'])}, {data['target_kind']} targets{classes}; "
        f"{result['steps_per_epoch']} steps per epoch",
        markup=False,
    )
    console.print(summary_table(summary))
    console.print(
        f"total params: {summary['total_params']:,} (trainable {summary['trainable_params']:,}, "
        f"non-trainable {summary['non_trainable_params']:,}); "
        f"params size {summary['param_size_mb']:.2f} MB",
        markup=False,
    )
    console.print(
        f"output {tuple(dry_run['output_shape'])} vs target {tuple(dry_run['target_shape'])}; "
        f"dry-run loss {number(dry_run['loss'])}; "
        f"memory estimate {dry_run['memory']['total'] / MB:.2f} MB",
        markup=False,
    )
    for warning in result.get("warnings", []):
        labelled("warning", "yellow", warning)


def validate(ctx: typer.Context, spec_file: SpecPath, as_json: JsonOption = False) -> None:
    """Check a spec and dry-run it on the server: model summary, shapes, memory, warnings."""
    with api_client(ctx) as client:
        result = client.validate(read_spec_file(spec_file).spec)
    if as_json:
        print_json(result)
    else:
        _print_validation(result)


def _parameters(entry: dict[str, Any]) -> str:
    return ", ".join(
        parameter["name"]
        if parameter["required"]
        else f"{parameter['name']}={parameter['default']}"
        for parameter in entry["parameters"]
    )


def catalog(
    ctx: typer.Context,
    kind: Annotated[
        str | None, typer.Argument(help="layers, losses, optimizers, schedulers, ... (or all)")
    ] = None,
    name: Annotated[str | None, typer.Argument(help="One type, to list its parameters.")] = None,
    as_json: JsonOption = False,
) -> None:
    """What a spec can say: every type of every kind, with parameters and defaults."""
    kind = KIND_ALIASES.get(kind, kind) if kind else None
    with api_client(ctx) as client:
        kinds = client.catalog(kind)
    if name is not None:
        entries = [
            entry for entries in kinds.values() for entry in entries if entry["type"] == name
        ]
        if not entries:
            known = ", ".join(entry["type"] for entries in kinds.values() for entry in entries)
            raise fail(f"{kind}: no type {name!r}; the types are: {known}")
        if as_json:
            print_json(entries[0])
            return
        _print_entry(entries[0])
        return
    if as_json:
        print_json(kinds)
        return
    for kind_name, entries in kinds.items():
        table = Table("type", "description", "parameters", title=kind_name, title_justify="left")
        for entry in entries:
            table.add_row(entry["type"], entry["description"], _parameters(entry))
        stdout().print(table)


def _print_entry(entry: dict[str, Any]) -> None:
    console = stdout()
    console.print(f"{entry['type']}: {entry['description']}", markup=False)
    table = Table("parameter", "default", "schema", box=None)
    for parameter in entry["parameters"]:
        default = "required" if parameter["required"] else repr(parameter["default"])
        schema = {k: v for k, v in parameter["json_schema"].items() if k not in {"title"}}
        table.add_row(parameter["name"], default, str(schema))
    console.print(table)


def preview_lr(
    ctx: typer.Context,
    spec_file: SpecPath,
    png: Annotated[Path | None, typer.Option(help="Also write the curve to this PNG file.")] = None,
    per_batch: Annotated[
        bool, typer.Option("--per-batch", help="Plot the lr after every batch.")
    ] = False,
    log: Annotated[bool, typer.Option("--log", help="Logarithmic lr axis.")] = False,
    width: Annotated[int, typer.Option(min=10, max=400)] = 64,
    height: Annotated[int, typer.Option(min=3, max=100)] = 12,
    as_json: JsonOption = False,
) -> None:
    """The spec's lr schedule over its epochs, without training: a terminal plot or a PNG."""
    with api_client(ctx) as client:
        spec = read_spec_file(spec_file).spec
        if not spec.get("scheduler"):
            raise fail("the spec has no scheduler: the lr stays at the optimizer's lr")
        steps = client.validate(spec)["steps_per_epoch"]
        preview = client.preview_lr(
            spec["optimizer"],
            spec["scheduler"],
            epochs=int(spec.get("training", {}).get("epochs", 1)),
            steps_per_epoch=steps,
        )
    if as_json:
        print_json(preview)
        return
    step_curve = preview.get("lr_per_step")
    values, unit = (
        (step_curve, "step") if per_batch and step_curve else (preview["lr_per_epoch"], "epoch")
    )
    if preview.get("note"):
        stderr().print(f"note: {preview['note']}", markup=False)
    stdout().print(
        f"lr {number(preview['initial_lr'])} -> {number(values[-1])} over {len(values)} {unit}s",
        markup=False,
    )
    stdout().print(
        text_plot(values, width=width, height=height, log=log, x_label=unit), markup=False
    )
    if png is not None:
        with api_errors():
            png_plot(values, png, log=log, x_label=unit)
        stdout().print(f"wrote {png}", markup=False)
