"""gradq: the command line for a gradq server (jobs, specs, data sets) and for running one."""

from typing import Annotated

import typer

from cli import admin, control, datasets, doctor, jobs, metrics, queue, specs
from cli.output import Connection
from core.migrate import upgrade_to_head
from core.settings import get_settings

app = typer.Typer(
    help=(
        "gradq: training as a service. The server is GRADQ_URL (or --url, or url in "
        "~/.config/gradq/config.toml), the token GRADQ_TOKEN (or --token, or token there). "
        "Exit status: 0 done or job succeeded, 1 request refused or server unreachable, "
        "2 bad command line, 3 job failed, 4 job cancelled, 130 detached with Ctrl-C."
    ),
    no_args_is_help=True,
)


@app.callback()
def main(
    ctx: typer.Context,
    url: Annotated[
        str | None, typer.Option(help="The gradq server, e.g. http://host:8000.")
    ] = None,
    token: Annotated[str | None, typer.Option(help="An API token.")] = None,
) -> None:
    ctx.obj = Connection(url=url, token=token)


app.command()(jobs.submit)
app.command("list")(jobs.list_jobs)
app.command()(jobs.status)
app.command()(jobs.watch)
app.command()(metrics.metrics)
app.command()(jobs.cancel)
app.command()(control.pause)
app.command()(control.resume)
app.command()(control.clone)
app.command()(queue.queue)
app.command()(jobs.weights)
app.command()(specs.validate)
app.command()(specs.catalog)
app.command("preview-lr")(specs.preview_lr)
app.add_typer(datasets.datasets_app, name="datasets")
app.add_typer(admin.users_app, name="users")
app.add_typer(admin.tokens_app, name="tokens")
app.command()(doctor.doctor)


GpusOption = Annotated[
    str,
    typer.Option(
        help=(
            "GPUs to run a worker on, one each: auto (CUDA_VISIBLE_DEVICES or nvidia-smi), "
            "none (one CPU worker), or a list like 0,1."
        )
    ),
]


@app.command()
def serve(gpus: GpusOption = "auto") -> None:
    """Migrate, then run the API and the workers (Ctrl-C stops them all)."""
    from cli.serve import serve as run_server

    raise typer.Exit(run_server(get_settings(), gpus))


@app.command()
def worker(gpus: GpusOption = "auto") -> None:
    """Run workers only: one per GPU (or one on the CPU), on the configured database and broker."""
    from cli.serve import run_workers

    raise typer.Exit(run_workers(get_settings(), gpus))


@app.command()
def migrate() -> None:
    """Apply database migrations."""
    upgrade_to_head(get_settings().database_url)


if __name__ == "__main__":
    app()
