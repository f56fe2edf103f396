"""Request dependencies as Annotated aliases: the database session and the calling user."""

import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from core import users
from core.db import session_factory
from core.errors import NotAuthenticated, NotAuthorized
from models import User

bearer = HTTPBearer(auto_error=False, description="An API token: Authorization: Bearer <token>")


def get_session() -> Iterator[Session]:
    """A session per request; routes commit what they change."""
    session = session_factory()()
    try:
        yield session
    finally:
        try:
            session.close()
        except DBAPIError:
            # the database went away mid-request: the answer (503) is already decided; drop
            # the broken connection rather than fail again on its rollback
            session.invalidate()


SessionDep = Annotated[Session, Depends(get_session)]

TOKEN_CACHE_SECONDS = 5.0
TOKEN_CACHE_SIZE = 4096


class TokenCache:
    """Token digest -> user id for a few seconds, so a polling client skips the token lookup.

    The cache lives in one API process. A token revoked through this process is dropped at once
    (forget_tokens); one revoked elsewhere (another API process, `gradq tokens revoke`) still
    works here for at most TOKEN_CACHE_SECONDS. The user row itself is read on every request,
    so a deleted user or a changed admin flag takes effect at once everywhere.
    """

    def __init__(self, ttl: float = TOKEN_CACHE_SECONDS, size: int = TOKEN_CACHE_SIZE) -> None:
        self.ttl, self.size = ttl, size
        self._entries: OrderedDict[str, tuple[uuid.UUID, float]] = OrderedDict()
        # digests dropped within the TTL: a lookup that raced the revocation must not re-add one
        self._dropped: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, digest: str) -> uuid.UUID | None:
        with self._lock:
            entry = self._entries.get(digest)
            if entry is None:
                return None
            if entry[1] <= time.monotonic():
                del self._entries[digest]
                return None
            return entry[0]

    def put(self, digest: str, user_id: uuid.UUID) -> None:
        now = time.monotonic()
        with self._lock:
            dropped = self._dropped.get(digest)
            if dropped is not None and dropped > now:
                return
            self._entries[digest] = (user_id, now + self.ttl)
            self._entries.move_to_end(digest)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def drop(self, digests: Iterable[str]) -> None:
        now = time.monotonic()
        with self._lock:
            for digest in digests:
                self._entries.pop(digest, None)
                self._dropped[digest] = now + self.ttl
                self._dropped.move_to_end(digest)
            while self._dropped and (
                len(self._dropped) > self.size or next(iter(self._dropped.values())) <= now
            ):
                self._dropped.popitem(last=False)


token_cache = TokenCache()


def forget_tokens(digests: Iterable[str]) -> None:
    """Refuse these (revoked) tokens in this process from now on, not only after the TTL."""
    token_cache.drop(digests)


def get_current_user(
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> User:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise NotAuthenticated("send Authorization: Bearer <token>")
    digest = users.hash_token(credentials.credentials)
    user_id = token_cache.get(digest)
    user = session.get(User, user_id) if user_id is not None else None
    if user is None:
        user = users.get_by_digest(session, digest=digest)
        if user is None:
            raise NotAuthenticated("unknown or revoked token")
        token_cache.put(digest, user.id)
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


def get_admin(user: CurrentUser) -> User:
    if not user.is_admin:
        raise NotAuthorized("only an admin may do this")
    return user


AdminUser = Annotated[User, Depends(get_admin)]
