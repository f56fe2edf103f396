"""create_app(): routers, error handlers and operation ids."""

from fastapi import FastAPI
from fastapi.routing import APIRoute

from api.errors import install_error_handlers
from api.limits import install_limits
from api.monitoring import install_monitoring
from api.routes import api_router, dashboard, health, tokens
from api.warm_up import lifespan


def _operation_id(route: APIRoute) -> str:
    return f"{route.tags[0]}-{route.name}" if route.tags else route.name


def create_app() -> FastAPI:
    app = FastAPI(
        title="gradq",
        summary="Training as a service: submit a PyTorch training spec, follow its metrics.",
        version="0.1.0",
        generate_unique_id_function=_operation_id,
        lifespan=lifespan,
    )
    install_error_handlers(app)
    install_limits(app)  # before monitoring, whose middleware then also counts 413s and 429s
    install_monitoring(app)
    app.include_router(health.router)
    app.include_router(api_router)
    app.include_router(tokens.router, prefix="/api/v1")
    app.include_router(dashboard.router)
    return app
