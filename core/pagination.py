"""Newest-first keyset pagination over rows with created_at and id, with opaque cursors."""

import base64
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy import Select, and_, or_
from sqlalchemy.orm import InstrumentedAttribute, Session

from core.errors import InvalidCursor


class Timestamped(Protocol):
    id: Any
    created_at: Any


RowT = TypeVar("RowT")


@dataclass(frozen=True)
class Page(Generic[RowT]):
    items: list[RowT]
    next_cursor: str | None


def _encode(created_at: datetime, row_id: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(f"{created_at.isoformat()}|{row_id}".encode()).decode()


def _decode(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        created, row_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        return datetime.fromisoformat(created), uuid.UUID(row_id)
    except ValueError as exc:
        raise InvalidCursor("cursor is not one this API returned") from exc


def newest_first(
    session: Session,
    query: Select[Any],
    model: type[Timestamped],
    *,
    limit: int,
    cursor: str | None,
) -> Page[Any]:
    """One page of query's rows of model, newest first; next_cursor continues after it."""
    created_at: InstrumentedAttribute[datetime] = model.created_at
    row_id: InstrumentedAttribute[uuid.UUID] = model.id
    query = query.order_by(created_at.desc(), row_id.desc())
    if cursor:
        at, after = _decode(cursor)
        query = query.where(or_(created_at < at, and_(created_at == at, row_id < after)))
    rows = list(session.scalars(query.limit(limit + 1)))
    items = rows[:limit]
    last = items[-1] if len(rows) > limit else None
    return Page(items=items, next_cursor=_encode(last.created_at, last.id) if last else None)
