"""Server-side administration, run where the database is: users and their tokens."""

from typing import Annotated

import typer
from rich.table import Table

from api.deps import forget_tokens
from cli.output import JsonOption, fail, local_time, print_json, stdout
from core import tokens, users
from core.db import session_scope
from core.errors import GradqError

users_app = typer.Typer(
    help="Manage users (on the server, with its database).", no_args_is_help=True
)
tokens_app = typer.Typer(
    help="Manage API tokens (on the server, with its database).", no_args_is_help=True
)

UserName = Annotated[str, typer.Argument(help="The user's name.", show_default=False)]


@users_app.command("create")
def create_user(
    name: UserName,
    admin: Annotated[bool, typer.Option(help="Give the user admin rights.")] = False,
) -> None:
    """Create a user and print their token (shown only this once)."""
    try:
        with session_scope() as session:
            _, token = users.create(session, name=name, is_admin=admin)
    except GradqError as exc:
        raise fail(str(exc.detail)) from exc
    print(token)


@tokens_app.command("revoke")
def revoke_tokens(name: UserName) -> None:
    """Revoke every token of a user; API processes refuse them within a few seconds."""
    with session_scope() as session:
        user = users.get_by_name(session, name=name)
        if user is None:
            raise fail(f"no user named {name!r}")
        digests = [token.token_sha256 for token in tokens.revoke_all(session, user_id=user.id)]
    forget_tokens(digests)  # an API served from this process refuses them at once
    count = len(digests)
    stdout().print(
        f"revoked {count} token{'s' if count != 1 else ''} of {name}; "
        f"`gradq tokens create {name}` issues a new one",
        markup=False,
    )


@tokens_app.command("create")
def create_token(name: UserName) -> None:
    """Issue a new token for a user and print it (shown only this once)."""
    with session_scope() as session:
        user = users.get_by_name(session, name=name)
        if user is None:
            raise fail(f"no user named {name!r}")
        token = users.issue_token(session, user=user)
    print(token)


@tokens_app.command("list")
def list_tokens(name: UserName, as_json: JsonOption = False) -> None:
    """List a user's tokens: id, when issued, when revoked (the secrets are never stored)."""
    with session_scope() as session:
        user = users.get_by_name(session, name=name)
        if user is None:
            raise fail(f"no user named {name!r}")
        rows = [
            (t.id, t.created_at, t.revoked_at)
            for t in tokens.list_for_user(session, user_id=user.id)
        ]
    if as_json:
        print_json([{"id": i, "created_at": c, "revoked_at": r} for i, c, r in rows])
        return
    table = Table(box=None)
    for column in ("ID", "ISSUED", "REVOKED"):
        table.add_column(column)
    for token_id, created_at, revoked_at in rows:
        table.add_row(str(token_id), local_time(created_at), local_time(revoked_at))
    stdout().print(table)
