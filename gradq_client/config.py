"""Where the server is and which token to send: arguments, GRADQ_* variables, the config file."""

import os
import tomllib
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_URL = "http://127.0.0.1:8000"
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


@dataclass(frozen=True)
class ClientConfig:
    """The resolved settings; token_source says where the token came from, for error messages."""

    url: str
    token: str | None
    token_source: str


def config_path(environ: Mapping[str, str] | None = None) -> Path:
    """GRADQ_CONFIG, else $XDG_CONFIG_HOME/gradq/config.toml, else ~/.config/gradq/config.toml."""
    env = os.environ if environ is None else environ
    if env.get("GRADQ_CONFIG"):
        return Path(env["GRADQ_CONFIG"]).expanduser()
    base = Path(env["XDG_CONFIG_HOME"]) if env.get("XDG_CONFIG_HOME") else Path.home() / ".config"
    return base / "gradq" / "config.toml"


def read_config_file(path: Path) -> dict[str, str]:
    """The file's `url` and `token` (both optional); an absent file is an empty config."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"cannot read the gradq config file {path}: {exc}") from exc
    unknown = set(data) - {"url", "token"}
    if unknown:
        raise ValueError(f"{path}: unknown settings {', '.join(sorted(unknown))} (url, token)")
    return {key: str(value) for key, value in data.items()}


def _local_admin_token(env: Mapping[str, str]) -> str | None:
    # `gradq serve` writes the admin token here; whoever can read it can already administer
    # the server, and it lets `make run` then `gradq submit` work with no setup.
    path = Path(env.get("GRADQ_DATA_DIR", ".gradq")) / "admin-token"
    try:
        return path.read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


def load_config(
    url: str | None = None,
    token: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    path: Path | None = None,
) -> ClientConfig:
    """Arguments first, then GRADQ_URL / GRADQ_TOKEN, then the config file.

    Without a token from any of those, and only for a server on this machine, the admin token
    that `gradq serve` wrote in the current directory (`$GRADQ_DATA_DIR/admin-token`, default
    `.gradq/admin-token`) is used if present.
    """
    env = os.environ if environ is None else environ
    file_path = path or config_path(env)
    file = read_config_file(file_path)
    resolved_url = url or env.get("GRADQ_URL") or file.get("url") or DEFAULT_URL
    for value, source in (
        (token, "the --token option"),
        (env.get("GRADQ_TOKEN"), "GRADQ_TOKEN"),
        (file.get("token"), str(file_path)),
    ):
        if value:
            return ClientConfig(resolved_url.rstrip("/"), value, source)
    local_server = urllib.parse.urlsplit(resolved_url).hostname in LOCAL_HOSTS
    local = _local_admin_token(env) if local_server else None
    source = "the local admin-token file" if local else "nowhere"
    return ClientConfig(resolved_url.rstrip("/"), local, source)
