"""HTTP models of users and tokens."""

import uuid

from pydantic import BaseModel, ConfigDict, Field


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")


class UserCreated(BaseModel):
    id: uuid.UUID
    name: str
    token: str = Field(description="shown only once; store it now")
