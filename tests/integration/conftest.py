"""One running gradq server per backend, shared by the integration modules."""

from collections.abc import Iterator

import pytest

from tests.integration.stack import Stack, running_stack


@pytest.fixture(scope="session", params=["embedded", "postgres+redis"])
def stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    data_dir = tmp_path_factory.mktemp(str(request.param).replace("+", "-"))
    # the team server's shape: two API processes behind one port, sharing the database
    settings = {"GRADQ_API_WORKERS": "2"} if request.param == "postgres+redis" else None
    with running_stack(request.param, data_dir, settings) as running:
        yield running
