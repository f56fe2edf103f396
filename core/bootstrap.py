"""First-start set-up: the admin user and its token file."""

import os
from pathlib import Path

from sqlalchemy.orm import Session

from core import users


def ensure_admin_token(session: Session, *, path: Path) -> str:
    """The admin's token from path; creates the admin (or a new token) when there is none."""
    admin = users.get_by_name(session, name=users.ADMIN_NAME)
    if admin is not None and path.exists():
        token = path.read_text().strip()
        if users.get_by_token(session, token=token) == admin:
            return token
    if admin is None:
        admin, token = users.create(session, name=users.ADMIN_NAME, is_admin=True)
    else:
        token = users.issue_token(session, user=admin)
    _write_private(path, token)
    return token


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text + "\n")
    os.chmod(path, 0o600)
