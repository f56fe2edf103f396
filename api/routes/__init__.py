"""api_router: every /api/v1 route."""

from fastapi import APIRouter, Depends

from api.deps import get_current_user
from api.routes import catalog, datasets, jobs, metrics, results, users

api_router = APIRouter(prefix="/api/v1")
api_router.include_router(jobs.router)
api_router.include_router(datasets.router)
api_router.include_router(metrics.router)
api_router.include_router(results.router)
api_router.include_router(users.router)
api_router.include_router(catalog.router, dependencies=[Depends(get_current_user)])
