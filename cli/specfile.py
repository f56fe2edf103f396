"""Spec files: YAML or JSON, holding a spec or a whole submission ({"name", "spec"})."""

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

YAML_SUFFIXES = {".yaml", ".yml"}


@dataclass(frozen=True)
class SpecFile:
    spec: dict[str, Any]
    name: str | None


def _parse_yaml(text: str, source: str) -> Any:
    try:
        import yaml
    except ImportError as exc:
        raise ValueError(f"{source}: reading YAML needs PyYAML (pip install pyyaml)") from exc
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValueError(f"{source}: not valid YAML: {exc}") from exc


def _parse(text: str, source: str, suffix: str) -> Any:
    if suffix in YAML_SUFFIXES:
        return _parse_yaml(text, source)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        if suffix == ".json":
            raise ValueError(f"{source}: not valid JSON: {exc}") from exc
    return _parse_yaml(text, source)  # JSON is YAML too, so this reads either


def read_spec_file(path: Path) -> SpecFile:
    """The spec in path ("-" reads stdin); a file with a top-level `spec` is a submission."""
    source = "stdin" if str(path) == "-" else str(path)
    text = sys.stdin.read() if source == "stdin" else path.read_text(encoding="utf-8")
    data = _parse(text, source, path.suffix.lower())
    if not isinstance(data, dict):
        raise ValueError(f"{source}: a spec is a mapping with dataset, model, loss, ...")
    if "spec" in data:
        spec, name = data["spec"], data.get("name")
        if not isinstance(spec, dict):
            raise ValueError(f"{source}: spec: must be a mapping")
        return SpecFile(spec=spec, name=str(name) if name is not None else None)
    default_name = None if source == "stdin" else path.stem
    return SpecFile(spec=data, name=default_name)
