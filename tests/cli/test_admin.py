"""`gradq users create` and `gradq tokens revoke / create`, run on the server's database."""

import httpx

from cli.output import ExitCode
from tests.cli.conftest import Invoke, User


def _status(server_url: str, token: str) -> int:
    headers = {"Authorization": f"Bearer {token}"}
    return httpx.get(f"{server_url}/api/v1/jobs", headers=headers).status_code


def test_users_create_prints_a_working_token(gradq: Invoke, server_url: str, user: User) -> None:
    result = gradq("users", "create", f"{user.name}-2")
    assert result.exit_code == 0
    assert _status(server_url, result.stdout.strip()) == 200
    again = gradq("users", "create", f"{user.name}-2")
    assert again.exit_code == ExitCode.ERROR
    assert "already exists" in again.stderr


def test_revoke_then_issue_a_token(gradq: Invoke, server_url: str, user: User) -> None:
    assert _status(server_url, user.token) == 200
    revoked = gradq("tokens", "revoke", user.name)
    assert revoked.exit_code == 0
    assert "revoked 1 token of" in revoked.stdout
    assert _status(server_url, user.token) == 401
    refused = gradq("list")
    assert refused.exit_code == ExitCode.ERROR
    assert "unknown or revoked token (set GRADQ_TOKEN" in refused.stderr
    issued = gradq("tokens", "create", user.name)
    assert issued.exit_code == 0
    assert _status(server_url, issued.stdout.strip()) == 200


def test_tokens_of_an_unknown_user(gradq: Invoke) -> None:
    for command in ("revoke", "create"):
        result = gradq("tokens", command, "nobody-at-all")
        assert result.exit_code == ExitCode.ERROR
        assert "no user named 'nobody-at-all'" in result.stderr
