"""api_router: every /api/v1 route."""

from fastapi import APIRouter, Depends

from api.deps import get_current_user
from api.routes import catalog, control, datasets, folds, jobs, metrics, queue, results, users

api_router = APIRouter(prefix="/api/v1")
api_router.include_router(jobs.router)
api_router.include_router(control.router)
api_router.include_router(queue.router)
api_router.include_router(datasets.router)
api_router.include_router(metrics.router)
api_router.include_router(results.router)
api_router.include_router(folds.router)
api_router.include_router(users.router)
api_router.include_router(catalog.router, dependencies=[Depends(get_current_user)])
