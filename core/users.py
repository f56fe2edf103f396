"""Users and bearer tokens: creation, lookup by token, the bootstrap admin."""

import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import UserAlreadyExists
from models import ApiToken, User

ADMIN_NAME = "admin"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return "gq_" + secrets.token_urlsafe(32)


def issue_token(session: Session, *, user: User) -> str:
    """A fresh token for user; only its digest is stored."""
    token = new_token()
    session.add(ApiToken(user=user, token_sha256=hash_token(token)))
    session.flush()
    return token


def create(session: Session, *, name: str, is_admin: bool = False) -> tuple[User, str]:
    """A new user and their first token."""
    if session.scalar(select(User.id).where(User.name == name)) is not None:
        raise UserAlreadyExists(f"a user named {name!r} already exists")
    user = User(name=name, is_admin=is_admin)
    session.add(user)
    session.flush()
    return user, issue_token(session, user=user)


def get_by_digest(session: Session, *, digest: str) -> User | None:
    """The owner of the token with this SHA-256 digest, unless it was revoked."""
    query = (
        select(User)
        .join(ApiToken)
        .where(ApiToken.token_sha256 == digest, ApiToken.revoked_at.is_(None))
    )
    return session.scalar(query)


def get_by_token(session: Session, *, token: str) -> User | None:
    return get_by_digest(session, digest=hash_token(token))


def get_by_name(session: Session, *, name: str) -> User | None:
    return session.scalar(select(User).where(User.name == name))
