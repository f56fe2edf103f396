"""Where the client finds the server and the token, and how API errors read."""

from pathlib import Path

import pytest

from gradq_client.config import DEFAULT_URL, config_path, load_config
from gradq_client.errors import problems


def test_arguments_beat_environment_beat_file(tmp_path: Path) -> None:
    file = tmp_path / "config.toml"
    file.write_text('url = "http://from-file:8000"\ntoken = "gq_file"\n')
    env = {"GRADQ_CONFIG": str(file)}
    assert load_config(environ=env) == load_config(environ=env, path=file)
    from_file = load_config(environ=env)
    assert (from_file.url, from_file.token) == ("http://from-file:8000", "gq_file")
    env |= {"GRADQ_URL": "http://from-env:8000/", "GRADQ_TOKEN": "gq_env"}
    from_env = load_config(environ=env)
    assert (from_env.url, from_env.token, from_env.token_source) == (
        "http://from-env:8000",
        "gq_env",
        "GRADQ_TOKEN",
    )
    given = load_config("http://given:1", "gq_given", environ=env)
    assert (given.url, given.token) == ("http://given:1", "gq_given")


def test_config_file_location(tmp_path: Path) -> None:
    assert config_path({"XDG_CONFIG_HOME": str(tmp_path)}) == tmp_path / "gradq" / "config.toml"
    assert config_path({}) == Path.home() / ".config" / "gradq" / "config.toml"


def test_a_config_file_with_unknown_settings_is_refused(tmp_path: Path) -> None:
    file = tmp_path / "config.toml"
    file.write_text('url = "http://x"\ntokne = "gq_typo"\n')
    with pytest.raises(ValueError, match="unknown settings tokne"):
        load_config(environ={}, path=file)
    file.write_text("url = ")
    with pytest.raises(ValueError, match="cannot read"):
        load_config(environ={}, path=file)


def test_the_local_admin_token_only_goes_to_a_local_server(tmp_path: Path) -> None:
    (tmp_path / "admin-token").write_text("gq_admin\n")
    env = {"GRADQ_DATA_DIR": str(tmp_path)}
    local = load_config(environ=env, path=tmp_path / "none.toml")
    assert (local.url, local.token) == (DEFAULT_URL, "gq_admin")
    remote = load_config("http://gpu-box:8000", environ=env, path=tmp_path / "none.toml")
    assert remote.token is None


def test_problems_read_as_field_and_reason() -> None:
    detail = [
        {"loc": ["body", "spec", "optimizer", "lr"], "msg": "Input should be greater than 0"},
        {"field": "spec.loss", "loc": ["body", "spec", "loss"], "msg": "does not fit"},
        {"loc": [], "msg": "no field"},
    ]
    assert problems(detail) == [
        "spec.optimizer.lr: Input should be greater than 0",
        "spec.loss: does not fit",
        "no field",
    ]
    assert problems("no job 1") == ["no job 1"]
    assert problems(None) == []
