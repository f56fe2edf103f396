"""Liveness and readiness probes (no authentication)."""

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from api.deps import SessionDep
from api.schemas.health import Health
from worker.celery_app import celery_app

router = APIRouter(tags=["health"])


@router.get("/livez", response_model=Health)
def livez() -> Health:
    """The process answers."""
    return Health(status="ok")


def _check_broker() -> str:
    try:
        with celery_app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:
        return f"unreachable: {type(exc).__name__}"
    return "ok"


def _check_database(session: SessionDep) -> str:
    try:
        session.execute(text("SELECT 1"))
    except Exception as exc:
        return f"unreachable: {type(exc).__name__}"
    return "ok"


@router.get("/readyz", response_model=Health, responses={503: {"model": Health}})
def readyz(session: SessionDep) -> Health | JSONResponse:
    """The database and the broker are reachable."""
    checks = {"database": _check_database(session), "broker": _check_broker()}
    health = Health(status="ok" if set(checks.values()) == {"ok"} else "unavailable", checks=checks)
    if health.status != "ok":
        return JSONResponse(health.model_dump(), status_code=503)
    return health
