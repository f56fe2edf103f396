"""API tokens: admins manage anyone's, every user their own."""

import uuid

from fastapi import APIRouter

from api.deps import AdminUser, CurrentUser, SessionDep, forget_tokens
from api.errors import error_responses
from api.schemas.tokens import TokenCreated, TokenRead
from core import tokens
from core.errors import NotAuthenticated, NotAuthorized
from core.tokens import TokenNotFound, UserNotFound
from models import User

router = APIRouter(tags=["tokens"], responses=error_responses(NotAuthenticated))


def _created(session: SessionDep, user: User) -> TokenCreated:
    token, secret = tokens.issue(session, user=user)
    session.commit()
    return TokenCreated(**TokenRead.model_validate(token).model_dump(), token=secret)


@router.get(
    "/users/{user_id}/tokens",
    response_model=list[TokenRead],
    responses=error_responses(NotAuthorized, UserNotFound),
)
def list_user_tokens(user_id: uuid.UUID, session: SessionDep, _admin: AdminUser) -> list[TokenRead]:
    """A user's tokens, revoked ones included (admins only)."""
    tokens.get_user(session, user_id=user_id)
    rows = tokens.list_for_user(session, user_id=user_id)
    return [TokenRead.model_validate(row) for row in rows]


@router.post(
    "/users/{user_id}/tokens",
    response_model=TokenCreated,
    status_code=201,
    responses=error_responses(NotAuthorized, UserNotFound),
)
def create_user_token(user_id: uuid.UUID, session: SessionDep, _admin: AdminUser) -> TokenCreated:
    """Issue a token for a user and return it (shown only this once; admins only)."""
    return _created(session, tokens.get_user(session, user_id=user_id))


@router.get("/tokens", response_model=list[TokenRead])
def list_tokens(session: SessionDep, user: CurrentUser) -> list[TokenRead]:
    """The caller's tokens, revoked ones included."""
    return [TokenRead.model_validate(row) for row in tokens.list_for_user(session, user_id=user.id)]


@router.post("/tokens", response_model=TokenCreated, status_code=201)
def create_token(session: SessionDep, user: CurrentUser) -> TokenCreated:
    """Issue another token for the caller (shown only this once)."""
    return _created(session, user)


@router.delete(
    "/tokens/{token_id}", response_model=TokenRead, responses=error_responses(TokenNotFound)
)
def revoke_token(token_id: uuid.UUID, session: SessionDep, user: CurrentUser) -> TokenRead:
    """Revoke a token: the caller's own, or anyone's for an admin. It is refused from now on."""
    token = tokens.get_for_caller(session, token_id=token_id, caller=user)
    tokens.revoke(session, token=token)
    session.commit()
    forget_tokens([token.token_sha256])
    return TokenRead.model_validate(token)
