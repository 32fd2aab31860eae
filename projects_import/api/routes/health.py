"""Operations: liveness, readiness and Prometheus metrics (SPEC §4.5)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from projects_import.api.deps import ServicesDep
from projects_import.db import migrations

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
async def metrics(services: ServicesDep) -> Response:
    await services.metrics.database.refresh(services.db)
    return Response(generate_latest(services.metrics.registry), media_type=CONTENT_TYPE_LATEST)
