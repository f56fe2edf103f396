"""api_router: every /api/v1 route."""

from fastapi import APIRouter

from api.routes import jobs, metrics, users

api_router = APIRouter(prefix="/api/v1")
api_router.include_router(jobs.router)
api_router.include_router(metrics.router)
api_router.include_router(users.router)
