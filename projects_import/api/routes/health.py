"""Operations: liveness, readiness and Prometheus metrics (SPEC §4.5)."""

from __future__ import annotations

import hmac
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from projects_import.api.deps import ServicesDep
from projects_import.api.errors import ApiError
from projects_import.db import migrations
from projects_import.settings import Settings
from projects_import.vocabulary import is_loopback

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="The process is up")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="The database answers and migrations are current")
async def readyz(services: ServicesDep) -> Any:
    try:
        async with services.db.session(timeout=5) as session:
            await session.execute("database_ping")
            status = await migrations.status(session)
    except Exception:
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503,
                            headers={"Retry-After": "2"})
    if status.pending:
        return JSONResponse({"status": "unavailable", "pending_migrations": status.pending},
                            status_code=503)
    return {"status": "ready", "migrations": len(status.applied)}


@router.get("/metrics", summary="Prometheus metrics")
async def metrics(request: Request, services: ServicesDep) -> Response:
    """With PROJECTS_IMPORT_METRICS_TOKEN set, only for `Authorization: Bearer <token>`;
    without it, only for loopback clients (the embedded default's own machine)."""
    check_scraper(request, services.settings)
    await services.metrics.database.refresh(services.db,
                                            max_age=services.settings.metrics_cache_seconds)
    return Response(generate_latest(services.metrics.registry), media_type=CONTENT_TYPE_LATEST,
                    headers={"Cache-Control": "no-store"})


def check_scraper(request: Request, settings: Settings) -> None:
    """The figures name every tenant, its open problems and whether it is paused: not for
    anyone who can reach the port."""
    token = settings.metrics_token
    if token:
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
                given.strip().encode(), token.encode()):
            raise ApiError(401, "unauthorized",
                           "/metrics needs `Authorization: Bearer <PROJECTS_IMPORT_METRICS_TOKEN>`",
                           headers={"WWW-Authenticate": "Bearer"})
        return
    client = request.client.host if request.client else ""
    if not is_loopback(client):
        raise ApiError(403, "forbidden",
                       "/metrics answers loopback clients only; set "
                       "PROJECTS_IMPORT_METRICS_TOKEN and scrape with it as a bearer token")
