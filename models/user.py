"""Users and their API tokens (stored as SHA-256 digests, never in clear)."""

import uuid
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, CreatedAt, UTCDateTime, UUIDPk


class User(UUIDPk, CreatedAt, Base):
    __tablename__ = "users"

    name: Mapped[str] = mapped_column(String(64), unique=True)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    tokens: Mapped[list["ApiToken"]] = relationship(back_populates="user", cascade="all")


class ApiToken(UUIDPk, CreatedAt, Base):
    __tablename__ = "api_tokens"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    user: Mapped[User] = relationship(back_populates="tokens")
