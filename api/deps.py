"""Request dependencies as Annotated aliases: the database session and the calling user."""

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from core import users
from core.db import session_factory
from core.errors import NotAuthenticated, NotAuthorized
from models import User

bearer = HTTPBearer(auto_error=False, description="An API token: Authorization: Bearer <token>")


def get_session() -> Iterator[Session]:
    """A session per request; routes commit what they change."""
    with session_factory()() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def get_current_user(
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> User:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise NotAuthenticated("send Authorization: Bearer <token>")
    user = users.get_by_token(session, token=credentials.credentials)
    if user is None:
        raise NotAuthenticated("unknown or revoked token")
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


def get_admin(user: CurrentUser) -> User:
    if not user.is_admin:
        raise NotAuthorized("only an admin may do this")
    return user


AdminUser = Annotated[User, Depends(get_admin)]
