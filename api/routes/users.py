"""User administration."""

from fastapi import APIRouter

from api.deps import AdminUser, SessionDep
from api.errors import error_responses
from api.schemas.users import UserCreate, UserCreated
from core import users
from core.errors import NotAuthenticated, NotAuthorized, UserAlreadyExists

router = APIRouter(
    prefix="/users",
    tags=["users"],
    responses=error_responses(NotAuthenticated, NotAuthorized),
)


@router.post(
    "", response_model=UserCreated, status_code=201, responses=error_responses(UserAlreadyExists)
)
def create_user(body: UserCreate, session: SessionDep, _admin: AdminUser) -> UserCreated:
    """Create a user and return their token (shown only this once)."""
    user, token = users.create(session, name=body.name)
    session.commit()
    return UserCreated(id=user.id, name=user.name, token=token)
