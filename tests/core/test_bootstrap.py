"""The admin token file: created once, private, reused, replaced when it no longer matches."""

import stat
from pathlib import Path

from sqlalchemy import Engine

from core import users
from core.bootstrap import ensure_admin_token
from core.db import session_scope


def test_admin_token_is_created_private_and_reused(
    migrated_database: Engine, tmp_path: Path
) -> None:
    path = tmp_path / "admin-token"
    with session_scope(migrated_database) as session:
        token = ensure_admin_token(session, path=path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with session_scope(migrated_database) as session:
        assert ensure_admin_token(session, path=path) == token
        user = users.get_by_token(session, token=token)
        assert user is not None
        assert user.is_admin


def test_a_stale_token_file_gets_a_fresh_working_token(
    migrated_database: Engine, tmp_path: Path
) -> None:
    path = tmp_path / "admin-token"
    with session_scope(migrated_database) as session:
        ensure_admin_token(session, path=path)
    path.write_text("gq_not-a-real-token\n")
    with session_scope(migrated_database) as session:
        token = ensure_admin_token(session, path=path)
        assert token != "gq_not-a-real-token"
        assert path.read_text().strip() == token
        assert users.get_by_token(session, token=token) is not None
