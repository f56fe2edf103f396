"""schemathesis against the live server's OpenAPI schema, as two users: no request gets a 5xx.

Every operation gets a bounded number of generated requests, valid and invalid ones, each sent
with one of the two users' tokens; path ids are random or point at the first user's real job,
data set and user, so the second user probes someone else's objects. Jobs the run queued are
cancelled at the end, so the shared stack's worker is free again.
"""

import time
import uuid
from collections import Counter
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.schemas import APIOperation

from tests.helpers import moons_spec
from tests.integration.stack import Stack, new_user

pytestmark = [pytest.mark.integration, pytest.mark.slow]

EXAMPLES_PER_MODE = 6
BUDGET_SECONDS = 50.0
MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)


def _real_ids(stack: Stack, token: str) -> dict[str, str]:
    """A job, a data set and the user id of this user, for path parameters."""
    with stack.client(token) as client:
        job = client.post("/api/v1/jobs", json={"spec": moons_spec(epochs=2)})
        csv = b"a,b,y\n" + b"".join(f"{i % 3},{i % 5},{i % 2}\n".encode() for i in range(30))
        files = {"file": ("d.csv", csv)}
        dataset = client.post("/api/v1/datasets", files=files, data={"target": "y"})
        (token_row, *_) = client.get("/api/v1/tokens").json()
    assert job.status_code == 201, job.text
    assert dataset.status_code == 201, dataset.text
    return {
        "job_id": job.json()["id"],
        "dataset_id": dataset.json()["id"],
        "user_id": token_row["user_id"],
    }


def _strategy(
    operation: APIOperation[Any, Any, Any, Any], ids: dict[str, str]
) -> st.SearchStrategy[Any]:
    strategies = [operation.as_strategy(mode) for mode in MODES]
    names = {p.name for p in operation.path_parameters} if operation.path_parameters else set()
    real = {name: ids[name] for name in names if name in ids}
    if real:
        strategies.append(operation.as_strategy(path_parameters=real))
    return st.one_of(strategies)


def _probe(
    operation: APIOperation[Any, Any, Any, Any],
    ids: dict[str, str],
    tokens: list[str],
    statuses: Counter[int],
) -> list[str]:
    """Send generated requests for one operation; the curl commands of those that got a 5xx."""
    failures: list[str] = []

    @given(case=_strategy(operation, ids), token=st.sampled_from(tokens))
    @settings(
        max_examples=EXAMPLES_PER_MODE * len(MODES),
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        derandomize=True,  # the same requests on every run: CI passes or fails for the code
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any, token: str) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        try:
            response = case.call(headers=headers, timeout=60)
            statuses[response.status_code] += 1
            case.validate_response(response, checks=[not_a_server_error])
        except AssertionError as exc:  # schemathesis reports failed checks as AssertionError
            failures.append(f"{case.as_curl_command(headers=headers)}\n{exc}")

    run()
    return failures


def _cancel_jobs(stack: Stack, tokens: list[str]) -> None:
    for token in tokens:
        with stack.client(token) as client:
            for status in ("queued", "running", "paused"):
                page = client.get("/api/v1/jobs", params={"status": status, "limit": 500})
                for job in page.json().get("items", []) if page.status_code == 200 else []:
                    client.post(f"/api/v1/jobs/{job['id']}/cancel")


def test_no_operation_answers_5xx(stack: Stack) -> None:
    suffix = uuid.uuid4().hex[:6]
    tokens = [new_user(stack, f"fuzz-a-{suffix}"), new_user(stack, f"fuzz-b-{suffix}")]
    ids = _real_ids(stack, tokens[0])
    schema = schemathesis.openapi.from_url(f"{stack.url}/openapi.json")
    schema.config.base_url = stack.url
    failures: list[str] = []
    statuses: Counter[int] = Counter()
    results = list(schema.get_all_operations())
    operations = [result.ok() for result in results if isinstance(result, Ok)]
    assert len(operations) == len(results), "the schema has operations schemathesis cannot read"
    assert len(operations) >= 20
    deadline = time.monotonic() + BUDGET_SECONDS
    probed = 0
    try:
        for operation in operations:
            if time.monotonic() > deadline:
                break
            failures += _probe(operation, ids, tokens, statuses)
            probed += 1
    finally:
        _cancel_jobs(stack, tokens)
    assert not failures, "\n\n".join(failures)
    answered = sum(n for code, n in statuses.items() if code < 300)
    assert answered >= len(operations), f"too few requests got through: {sorted(statuses.items())}"
    assert probed == len(operations), f"only {probed} of {len(operations)} in the time budget"
    assert httpx.get(f"{stack.url}/livez", timeout=10).status_code == 200
