"""gradq: serve, migrate and manage users on this server."""

from typing import Annotated

import typer

from core import users
from core.db import session_scope
from core.errors import GradqError
from core.migrate import upgrade_to_head
from core.settings import get_settings

app = typer.Typer(help="gradq: training as a service.", no_args_is_help=True)
users_app = typer.Typer(help="Manage users and their tokens.", no_args_is_help=True)
app.add_typer(users_app, name="users")


@app.command()
def serve() -> None:
    """Migrate, then run the API and one worker (Ctrl-C stops both)."""
    from cli.serve import serve as run_server

    raise typer.Exit(run_server(get_settings()))


@app.command()
def migrate() -> None:
    """Apply database migrations."""
    upgrade_to_head(get_settings().database_url)


@users_app.command("create")
def create_user(
    name: str, admin: Annotated[bool, typer.Option(help="Give the user admin rights.")] = False
) -> None:
    """Create a user and print their token (shown only this once)."""
    try:
        with session_scope() as session:
            _, token = users.create(session, name=name, is_admin=admin)
    except GradqError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(1) from exc
    print(token)


if __name__ == "__main__":
    app()
