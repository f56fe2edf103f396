"""Every route in the OpenAPI schema, except the probes and the docs, refuses a missing token."""

import re
import uuid

import pytest
from fastapi.testclient import TestClient

from api.main import create_app

PUBLIC = {"/livez", "/readyz"}
ROUTES = [
    (method.upper(), path)
    for path, operations in create_app().openapi()["paths"].items()
    for method in operations
    if path not in PUBLIC
]


def test_there_are_routes_to_check() -> None:
    assert len(ROUTES) >= 8


@pytest.mark.parametrize(("method", "path"), ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
def test_route_needs_a_token(client: TestClient, method: str, path: str) -> None:
    concrete = re.sub(r"\{[^}]+\}", str(uuid.uuid4()), path)
    response = client.request(method, concrete)
    assert response.status_code == 401, (method, path, response.status_code)
