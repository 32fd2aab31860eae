"""Factories: tenants, dashboard logins, payload rows and batches, and a batch submitted
through the manager."""

from __future__ import annotations

import asyncio
from typing import Any


def create_tenant(database_url: str, tenant_id: str, timezone: str = "UTC") -> str:
    """Create a tenant through the same manager the CLI uses; returns its bearer secret."""
    from projects_import.db.connection import Database
    from projects_import.tenants import TenantStore

    async def add() -> str:
        async with Database(database_url, max_size=1) as database:
            return await TenantStore(database).add(tenant_id, timezone)

    return asyncio.run(add())


def create_login(database_url: str, email: str, role: str, password: str) -> None:
    """Create a dashboard login through the same manager the CLI uses."""
    from projects_import.db.connection import Database
    from projects_import.users import UserStore

    async def add() -> None:
        async with Database(database_url, max_size=1) as database:
            await UserStore(database).add(email, role, password)

    asyncio.run(add())


def submit(database_url: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Stage and merge a batch through the service the HTTP route uses."""
    from projects_import.db.connection import Database
    from projects_import.imports.contract import parse_payload
    from projects_import.imports.service import ImportService

    async def go() -> dict[str, Any]:
        async with Database(database_url, max_size=1) as db:
            request = parse_payload(payload, max_rows=5000)
            return (await ImportService(db).submit(request)).as_dict()

    return asyncio.run(go())


def project_row(key: str, **overrides: Any) -> dict[str, Any]:
    """A contract row resolving fully against the `directories` fixture."""
    row: dict[str, Any] = {
        "stage_application": key,
        "delivery_partner": "Fulton Hogan",
        "developer_class": "Class 2",
        "relationship_manager": "First Last",
        "deployment_specialist": "PREFERRED_USERNAME",
        "residential": "45",
        "commercial": "5",
        "essential": "",
        "stage_application_created": "2025-04-01",
    }
    row.update(overrides)
    return row


def batch(rows: list[dict[str, Any]], *, tenant_id: str = "TELCO",
          batch_id: str | None = "2025-08-18T17:00:00+0930-batch-001",
          **extra: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {"tenant_id": tenant_id, "source": "projects-import", "rows": rows}
    if batch_id is not None:
        payload["batch_id"] = batch_id
    payload.update(extra)
    return payload
