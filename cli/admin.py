"""Server-side administration, run where the database is: users and their tokens."""

from typing import Annotated

import typer
from sqlalchemy import delete, func, select

from cli.output import fail, stdout
from core import users
from core.db import session_scope
from core.errors import GradqError
from models import ApiToken

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
    """Revoke every token of a user; requests with them get 401 at once."""
    with session_scope() as session:
        user = users.get_by_name(session, name=name)
        if user is None:
            raise fail(f"no user named {name!r}")
        count = session.scalar(select(func.count()).where(ApiToken.user_id == user.id)) or 0
        session.execute(delete(ApiToken).where(ApiToken.user_id == user.id))
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
