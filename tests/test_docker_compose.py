"""Structural checks for docker-compose.yml, the Dockerfile and .env.example."""

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
ENV_EXAMPLE = ROOT / ".env.example"

SERVICES = ("postgres", "redis", "migrate", "api", "worker")
APP_SERVICES = ("migrate", "api", "worker")
LONG_RUNNING_APP_SERVICES = ("api", "worker")

REDIS_PASSWORD = "${REDIS_PASSWORD:?"
REDIS_URL_WITH_PASSWORD = "redis://:" + REDIS_PASSWORD
BACKING_PORTS = {"5432", "6379"}

# `${NAME`, not preceded by another `$` (`$$` is a literal dollar sign in compose files),
# followed by the operator if any: `-`/`:-` give a default, anything else does not.
VARIABLE_RE = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)(:?[-?+])?")


def _load_compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(data, dict), "docker-compose.yml must be a mapping"
    return data


def _services() -> dict[str, dict[str, Any]]:
    services = _load_compose().get("services")
    assert isinstance(services, dict), "docker-compose.yml has no services mapping"
    return services


def _service(name: str) -> dict[str, Any]:
    service = _services().get(name)
    assert isinstance(service, dict), f"service {name!r} is missing or not a mapping"
    return service


def _command(name: str) -> str:
    command = _service(name).get("command")
    assert command, f"service {name!r} has no command"
    if isinstance(command, list):
        return " ".join(str(part) for part in command)
    assert isinstance(command, str)
    return command


def _healthcheck_test(name: str) -> str:
    healthcheck = _service(name).get("healthcheck")
    assert isinstance(healthcheck, dict), f"service {name!r} has no healthcheck"
    assert not healthcheck.get("disable", False), f"healthcheck of {name!r} is disabled"
    test = healthcheck.get("test")
    assert test, f"healthcheck of {name!r} has no test"
    if isinstance(test, list):
        assert test[0] in ("CMD", "CMD-SHELL"), f"healthcheck of {name!r}: bad test {test!r}"
        return " ".join(str(part) for part in test[1:])
    assert isinstance(test, str)
    return test


def _volume_sources(service: dict[str, Any]) -> list[tuple[str, str]]:
    """Return (source, target) for each volume entry of a service."""
    mounts: list[tuple[str, str]] = []
    for entry in service.get("volumes", []):
        if isinstance(entry, str):
            source, _, rest = entry.partition(":")
            target = rest.split(":", 1)[0]
            mounts.append((source, target))
        else:
            assert isinstance(entry, dict), f"unexpected volume entry {entry!r}"
            mounts.append((str(entry.get("source", "")), str(entry.get("target", ""))))
    return mounts


def _is_named_volume(source: str) -> bool:
    return bool(source) and not source.startswith((".", "/", "~", "$"))


def _environment(name: str) -> dict[str, str]:
    environment = _service(name).get("environment")
    assert environment, f"service {name!r} has no environment"
    if isinstance(environment, list):
        pairs = (str(item).partition("=") for item in environment)
        return {key: value for key, _, value in pairs}
    assert isinstance(environment, dict)
    return {str(key): str(value) for key, value in environment.items()}


def _env_example_names() -> set[str]:
    names: set[str] = set()
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        name = line.partition("=")[0].strip()
        names.add(name.removeprefix("export ").strip())
    return names


def test_all_services_defined() -> None:
    services = _services()
    missing = [name for name in SERVICES if name not in services]
    assert not missing, f"missing services: {missing}"
    assert "version" not in _load_compose(), "the compose spec has no top-level version"


@pytest.mark.parametrize(
    ("name", "check", "mount_target"),
    [
        ("postgres", "pg_isready", "/var/lib/postgresql/data"),
        ("redis", "redis-cli ping", "/data"),
    ],
)
def test_backing_services_have_healthcheck_and_named_volume(
    name: str, check: str, mount_target: str
) -> None:
    assert check in _healthcheck_test(name)
    mounts = _volume_sources(_service(name))
    named = [source for source, target in mounts if target == mount_target]
    assert named, f"{name!r} mounts nothing at {mount_target}"
    assert all(_is_named_volume(source) for source in named), f"{name!r}: {named!r}"


def test_backing_service_images() -> None:
    assert str(_service("postgres").get("image", "")).startswith("postgres:16")
    assert str(_service("redis").get("image", "")).startswith("redis:7")


def test_redis_appendonly_enabled() -> None:
    command = _command("redis")
    assert command.startswith("redis-server")
    assert re.search(r"--appendonly\s+yes\b", command), command


def test_migrate_runs_alembic_once() -> None:
    migrate = _service("migrate")
    assert re.fullmatch(r"alembic\s+upgrade\s+head", _command("migrate").strip())
    assert str(migrate.get("restart")) == "no"
    assert "build" in migrate
    depends_on = migrate.get("depends_on")
    assert isinstance(depends_on, dict)
    assert depends_on.get("postgres", {}).get("condition") == "service_healthy"


def test_api_runs_uvicorn_and_publishes_port() -> None:
    api = _service("api")
    command = _command("api").split()
    assert command[0] == "uvicorn"
    assert "api.main:create_app" in command
    assert "--factory" in command
    assert command[command.index("--port") + 1] == "8000"
    ports = api.get("ports", [])
    targets = [str(port.get("target") if isinstance(port, dict) else port) for port in ports]
    published = [target for target in targets if target.rsplit(":", 1)[-1] == "8000"]
    assert published, f"api does not publish container port 8000: {ports!r}"
    assert "/livez" in _healthcheck_test("api")


def test_worker_runs_celery_solo_on_training_queue() -> None:
    command = _command("worker").split()
    assert command[0] == "celery"
    assert "worker" in command
    assert "--pool=solo" in command
    assert {"--without-mingle", "--without-gossip"} <= set(command)
    assert command[command.index("-Q") + 1].split(",") == ["training"]
    assert "inspect ping" in _healthcheck_test("worker")


def test_worker_reserves_nvidia_gpu() -> None:
    deploy = _service("worker").get("deploy", {})
    devices = deploy.get("resources", {}).get("reservations", {}).get("devices", [])
    assert devices, "worker reserves no devices"
    gpus = [
        device
        for device in devices
        if device.get("driver") == "nvidia" and "gpu" in device.get("capabilities", [])
    ]
    assert gpus, f"worker reserves no nvidia GPU: {devices!r}"
    assert any("count" in gpu or "device_ids" in gpu for gpu in gpus)


@pytest.mark.parametrize("name", LONG_RUNNING_APP_SERVICES)
def test_app_service_dependencies(name: str) -> None:
    depends_on = _service(name).get("depends_on")
    assert isinstance(depends_on, dict), f"{name!r} needs long-form depends_on"
    expected = {
        "postgres": "service_healthy",
        "redis": "service_healthy",
        "migrate": "service_completed_successfully",
    }
    for dependency, condition in expected.items():
        entry = depends_on.get(dependency)
        assert isinstance(entry, dict), f"{name!r} does not depend on {dependency!r}"
        assert entry.get("condition") == condition, f"{name!r} -> {dependency!r}: {entry!r}"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_service_settings(name: str) -> None:
    service = _service(name)
    assert "build" in service, f"{name!r} is not built from the Dockerfile"
    env_file = service.get("env_file")
    env_files = env_file if isinstance(env_file, list) else [env_file]
    assert ".env" in [item.get("path") if isinstance(item, dict) else item for item in env_files]
    environment = _environment(name)
    database_url = environment.get("GRADQ_DATABASE_URL", "")
    broker_url = environment.get("GRADQ_BROKER_URL", "")
    assert database_url.startswith(("postgresql", "${GRADQ_DATABASE_URL:-postgresql")), database_url
    assert "@postgres:5432/" in database_url, database_url
    assert REDIS_URL_WITH_PASSWORD in broker_url, broker_url
    assert environment.get("GRADQ_DATA_DIR") == "/data"
    assert ("gradq-data", "/data") in _volume_sources(service)


def test_named_volumes_declared() -> None:
    declared = _load_compose().get("volumes") or {}
    assert isinstance(declared, dict)
    used = {
        source
        for service in _services().values()
        for source, _ in _volume_sources(service)
        if _is_named_volume(source)
    }
    assert {"postgres-data", "redis-data", "gradq-data"} <= used
    undeclared = used - set(declared)
    assert not undeclared, f"named volumes not declared at top level: {sorted(undeclared)}"


def test_dockerfile_installs_torch_and_runs_as_non_root() -> None:
    assert DOCKERFILE.is_file()
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert re.search(r"^FROM\s+python:3\.11-slim\b", text, re.MULTILINE)
    assert re.search(r"^ARG\s+TORCH_SPEC=\"?torch==2\.13\.0\"?\s*$", text, re.MULTILINE)
    assert re.search(r"pip install[^\n]*TORCH_SPEC", text)
    assert re.search(r"pip install[^\n]*\s\.(\s|$)", text)
    users = re.findall(r"^USER\s+(\S+)", text, re.MULTILINE)
    assert users, "Dockerfile sets no USER"
    assert users[-1].split(":")[0] not in ("root", "0"), f"final USER is {users[-1]!r}"


def test_compose_variables_without_default_are_in_env_example() -> None:
    assert ENV_EXAMPLE.is_file()
    required = {
        match.group(1)
        for match in VARIABLE_RE.finditer(COMPOSE_FILE.read_text(encoding="utf-8"))
        if match.group(2) not in ("-", ":-")
    }
    missing = required - _env_example_names()
    assert not missing, f"variables without a default missing from .env.example: {missing}"


def test_redis_requires_a_password_without_default() -> None:
    command = _command("redis")
    assert re.search(r"--requirepass\s+\$\{REDIS_PASSWORD:\?", command), command
    # the healthcheck's redis-cli authenticates through REDISCLI_AUTH
    assert _environment("redis").get("REDISCLI_AUTH", "").startswith(REDIS_PASSWORD)
    flower = _command("flower")
    assert f"--broker=${{GRADQ_BROKER_URL:-{REDIS_URL_WITH_PASSWORD}" in flower, flower
    assert "@redis:6379/0}" in flower, flower


def _published(service: dict[str, Any]) -> list[str]:
    return [
        str(port.get("target") if isinstance(port, dict) else port)
        for port in service.get("ports", [])
    ]


@pytest.mark.parametrize("name", ["postgres", "redis"])
def test_backing_services_are_not_published(name: str) -> None:
    service = _service(name)
    assert not service.get("ports"), f"{name!r} publishes {service.get('ports')!r} to the host"
    assert service.get("network_mode") != "host", f"{name!r} shares the host's network"


def test_no_service_publishes_a_backing_port() -> None:
    for name, service in _services().items():
        targets = {port.rsplit(":", 1)[-1].split("/")[0] for port in _published(service)}
        assert not targets & BACKING_PORTS, f"{name!r} publishes {sorted(targets)}"
