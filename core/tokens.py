"""A user's API tokens: list, issue, revoke one or all. Only digests are stored or listed."""

import uuid
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import GradqError
from core.users import hash_token, new_token
from models import ApiToken, User


class TokenNotFound(GradqError):
    status_code = 404


class UserNotFound(GradqError):
    status_code = 404


def get_user(session: Session, *, user_id: uuid.UUID) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise UserNotFound(f"no user {user_id}")
    return user


def list_for_user(session: Session, *, user_id: uuid.UUID) -> list[ApiToken]:
    """The user's tokens, revoked ones included, oldest first."""
    query = select(ApiToken).where(ApiToken.user_id == user_id)
    return list(session.scalars(query.order_by(ApiToken.created_at, ApiToken.id)))


def issue(session: Session, *, user: User) -> tuple[ApiToken, str]:
    """A fresh token row and its secret, which exists only in this return value."""
    secret = new_token()
    token = ApiToken(user_id=user.id, token_sha256=hash_token(secret))
    session.add(token)
    session.flush()
    return token, secret


def get_for_caller(session: Session, *, token_id: uuid.UUID, caller: User) -> ApiToken:
    """The token if caller owns it or is an admin; else TokenNotFound, so ids leak nothing."""
    token = session.get(ApiToken, token_id)
    if token is None or (token.user_id != caller.id and not caller.is_admin):
        raise TokenNotFound(f"no token {token_id}")
    return token


def revoke(session: Session, *, token: ApiToken) -> None:
    """Mark the token revoked; revoking it again keeps the first time."""
    if token.revoked_at is None:
        token.revoked_at = datetime.now(UTC)
        session.flush()


def revoke_all(session: Session, *, user_id: uuid.UUID) -> list[ApiToken]:
    """Revoke every live token of the user; returns the ones this call revoked."""
    query = select(ApiToken).where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
    live = list(session.scalars(query))
    for token in live:
        revoke(session, token=token)
    return live
