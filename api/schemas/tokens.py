"""HTTP models of API tokens: the secret appears once, in TokenCreated."""

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class TokenRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    user_id: uuid.UUID
    created_at: datetime
    revoked_at: datetime | None = Field(description="null while the token works")


class TokenCreated(TokenRead):
    token: str = Field(description="shown only once; store it now")
