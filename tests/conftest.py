"""Test settings: a throwaway data dir, a real SQLite file (or GRADQ_TEST_DATABASE_URL), migrations.

The environment is set before any gradq module is imported, so settings, engines and the Celery app
all point at test state.
"""

import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

_DATA_DIR = Path(tempfile.mkdtemp(prefix="gradq-test-"))
os.environ["GRADQ_DATA_DIR"] = str(_DATA_DIR)
os.environ["GRADQ_DATABASE_URL"] = os.environ.get(
    "GRADQ_TEST_DATABASE_URL", f"sqlite:///{_DATA_DIR / 'gradq.db'}"
)
os.environ.pop("GRADQ_BROKER_URL", None)
# messages sent by API tests land here and stay: no worker listens on this queue
os.environ["GRADQ_TRAINING_QUEUE"] = f"unit-{uuid.uuid4().hex[:8]}"

from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy import Engine  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from api.main import create_app  # noqa: E402
from core import users  # noqa: E402
from core.db import get_engine, session_factory  # noqa: E402
from core.migrate import upgrade_to_head  # noqa: E402
from core.settings import get_settings  # noqa: E402
from tests.databases import postgres_database  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def migrated_database() -> Engine:
    """The suite's database at the head revision."""
    upgrade_to_head(get_settings().database_url)
    return get_engine()


@pytest.fixture
def session(migrated_database: Engine) -> Iterator[Session]:
    with session_factory(migrated_database)() as db_session:
        yield db_session


@pytest.fixture(scope="session")
def client() -> Iterator[TestClient]:
    with TestClient(create_app()) as test_client:
        yield test_client


def _token_for(name_prefix: str, *, is_admin: bool = False) -> str:
    with session_factory()() as db_session:
        name = f"{name_prefix}-{uuid.uuid4().hex[:8]}"
        _, token = users.create(db_session, name=name, is_admin=is_admin)
        db_session.commit()
    return token


@pytest.fixture
def alice() -> dict[str, str]:
    """Headers of a fresh ordinary user."""
    return {"Authorization": f"Bearer {_token_for('alice')}"}


@pytest.fixture
def bob() -> dict[str, str]:
    return {"Authorization": f"Bearer {_token_for('bob')}"}


@pytest.fixture
def admin() -> dict[str, str]:
    return {"Authorization": f"Bearer {_token_for('root', is_admin=True)}"}


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this run, dropped afterwards."""
    with postgres_database() as url:
        upgrade_to_head(url)
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def any_engine(request: pytest.FixtureRequest, migrated_database: Engine) -> Engine:
    """The same test on the SQLite file and on PostgreSQL (the [sqlite] case needs no server)."""
    if request.param == "postgresql":
        return get_engine(request.getfixturevalue("postgres_url"))
    if migrated_database.dialect.name != "sqlite":
        pytest.skip("the suite database is not SQLite")
    return migrated_database
