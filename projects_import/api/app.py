"""Build the FastAPI application."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from projects_import import __version__
from projects_import.api.admission import AdmissionMiddleware
from projects_import.api.capacity import connection_limit
from projects_import.api.clients import ForwardedMiddleware, TrustedProxies
from projects_import.api.deps import Services
from projects_import.api.docs import install_docs
from projects_import.api.errors import install_error_handlers
from projects_import.api.middleware import RequestContextMiddleware
from projects_import.api.openapi import install_openapi
from projects_import.api.pages import PageAnswer, page_answer
from projects_import.api.routes import (
    anomalies,
    console_imports,
    console_overview,
    console_problems,
    console_projects,
    console_tenants,
    health,
    history,
    imports,
    problem_groups,
    problems,
    tenants,
)
from projects_import.api.unavailable import install_unavailable_handler
from projects_import.db.connection import Database
from projects_import.imports.offload import workers
from projects_import.observability import Metrics, configure_logging
from projects_import.operations.scheduler import start_scheduler
from projects_import.settings import Settings


def create_app(settings: Settings, database_url: str) -> FastAPI:
    """The app for an already-migrated database at `database_url`."""
    configure_logging()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = Database(database_url, max_size=settings.pool_max_size, pooler=settings.pooler)
        await db.open()
        services = app.state.services = Services(settings=settings, db=db, metrics=Metrics())
        # the import workers start with the first app of the process (warmed, not on the first
        # import); `serve` stops them when it ends
        await asyncio.to_thread(workers.start, settings.import_workers)
        scheduler = (start_scheduler(database_url, settings) if settings.scheduler_enabled
                     else None)
        try:
            yield
        finally:
            if scheduler is not None:
                scheduler.shutdown()
            await services.imports.recorded()
            await db.close()

    app = FastAPI(title="projects-import", version=__version__, lifespan=lifespan,
                  docs_url=None, redoc_url=None)
    # outermost last: the client's address first, then the request's context, then admission
    app.add_middleware(AdmissionMiddleware, settings=settings,
                       connection_limit=connection_limit(settings))
    app.add_middleware(RequestContextMiddleware)
    app.add_middleware(ForwardedMiddleware, trusted=TrustedProxies(settings.forwarded_allow_ips))
    install_error_handlers(app)
    install_unavailable_handler(app)
    install_openapi(app)
    install_docs(app)
    app.include_router(imports.router)
    app.include_router(problem_groups.router)  # before /anomalies/problems/{problem_id}
    app.include_router(problems.router)  # before /anomalies/{anomaly_id}/… routes
    app.include_router(anomalies.router)
    app.include_router(history.router)
    app.include_router(tenants.router)
    app.include_router(console_overview.router)
    app.include_router(console_problems.router)
    app.add_exception_handler(PageAnswer, page_answer)
    app.include_router(console_imports.router)
    app.include_router(console_tenants.router)
    app.include_router(console_projects.router)
    app.include_router(health.router)
    return app
