"""The web dashboard: its page at /, its static files and the example specs it starts from."""

import json
import logging
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field
from starlette.staticfiles import StaticFiles

from api.deps import CurrentUser
from api.errors import error_responses
from core.errors import NotAuthenticated

STATIC_DIR = Path(__file__).resolve().parents[1] / "static"
EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "examples"
EXAMPLE_SUFFIXES = {".json", ".yaml", ".yml"}

# the page builds every element from data with textContent; the policy backs that up
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
        "form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
# file names are not content-hashed: revalidate (cheap, ETag) instead of caching blindly
ASSET_HEADERS = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}

log = logging.getLogger(__name__)
router = APIRouter()
_static = StaticFiles(directory=STATIC_DIR)


class ExampleRead(BaseModel):
    name: str = Field(description="the file name without its suffix")
    file: str
    description: str | None = Field(description="its description, or the comment it opens with")
    spec: dict[str, Any]


@router.get("/", include_in_schema=False)
def read_dashboard() -> FileResponse:
    """The dashboard's single page; it signs in with an API token kept in sessionStorage."""
    return FileResponse(STATIC_DIR / "index.html", headers=SECURITY_HEADERS)


@router.api_route("/static/{path:path}", methods=["GET", "HEAD"], include_in_schema=False)
async def read_static(path: str, request: Request) -> Response:
    """A file of api/static/ (StaticFiles keeps paths inside it and answers 304s)."""
    response = await _static.get_response(path, request.scope)
    response.headers.update(ASSET_HEADERS)
    return response


@router.get(
    "/api/v1/examples",
    response_model=list[ExampleRead],
    tags=["examples"],
    responses=error_responses(NotAuthenticated),
)
def list_examples(_user: CurrentUser) -> list[ExampleRead]:
    """The example specs shipped in examples/, by name."""
    if not EXAMPLES_DIR.is_dir():
        return []
    paths = sorted(p for p in EXAMPLES_DIR.iterdir() if p.suffix in EXAMPLE_SUFFIXES)
    return [example for path in paths if (example := _read_example(path)) is not None]


def _read_example(path: Path) -> ExampleRead | None:
    """A bare spec, or a submission {"spec", "name"?} as `gradq submit` reads, "description"?."""
    try:
        document = _load(path)
    except (OSError, ValueError) as exc:
        log.warning("skipping example %s: %s", path.name, exc)
        return None
    if not isinstance(document, dict):
        return None
    spec = document.get("spec", document)
    if not isinstance(spec, dict):
        return None
    description = document.get("description")
    return ExampleRead(
        name=path.stem,
        file=path.name,
        description=description if isinstance(description, str) else _leading_comment(path),
        spec=spec,
    )


def _leading_comment(path: Path) -> str | None:
    """The comment block a YAML example opens with, as one line of text."""
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        lines.append(line.lstrip("#").strip())
    return " ".join(filter(None, lines)) or None


def _load(path: Path) -> Any:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        return json.loads(text)
    try:
        import yaml  # only YAML examples need it
    except ImportError as exc:
        raise ValueError("PyYAML is not installed") from exc
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValueError(str(exc)) from exc
