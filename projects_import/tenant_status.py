"""Tenants as operators see them (SPEC §9 "Tenants"): freshness (last success, late), the
quarantine (pause/resume, recorded in tenant_events) and when bearer secrets expire.

Operator and admin reads run under the caller's claims through operator RPCs; pausing from the
browser goes through `fn_tenant_set_paused`, which checks the admin role in the database. The
command line pauses as the service (`fn_tenant_pause` / `fn_tenant_resume`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from projects_import.db.connection import Database
from projects_import.errors import Forbidden, InvalidInput, NotFound
from projects_import.tenants import TenantError

# The fields of GET /tenants/status, in order.
STATUS_FIELDS = ("tenant_id", "timezone", "last_success_at", "late", "paused",
                 "paused_reason", "paused_at", "audit", "held", "freshness")
MAX_REASON = 500
RECENT_EVENTS = 50


class NotAdmin(Forbidden):
    """The database refused the caller: pausing and resuming is for admins (42501)."""


class TenantNotFound(NotFound, TenantError):
    """No tenant with that id."""

    code = "not_found"
    http_status = 404


class TenantStatus:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def _as_user(self, claims: Mapping[str, Any], name: str,
                       **params: Any) -> list[dict[str, Any]]:
        async with self.db.user_transaction(claims, read_only=True) as tx:
            return await tx.fetch_all(name, **params)  # a non-operator: Forbidden (42501)

    async def status(self, claims: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Every tenant's freshness and pause, by tenant id, with its audit limits and held
        batches (0037). A tenant whose latest batch waits for review is `held`, not late:
        the export arrived, the operator has to decide."""
        rows = await self._as_user(claims, "tenants_status")
        audits = {row["tenant_id"]: row for row in await self._as_user(claims, "tenant_audits")}
        for row in rows:
            found = audits.get(row["tenant_id"])
            held = int(found["held_batches"]) if found else 0
            row["audit"] = {**(found["audit"] if found else {}), "held_batches": held,
                            "oldest_held_at": found["oldest_held_at"] if found else None}
            row["held"] = held > 0
            if row["held"]:
                row["late"] = False
            row["freshness"] = ("paused" if row["paused"] else "held" if row["held"]
                                else "late" if row["late"] else "on_time")
        return rows

    async def set_audit(self, tenant_id: str, **limits: Any) -> dict[str, Any]:
        """Change a tenant's audit limits (None keeps a value), as the service (the CLI)."""
        return await self._as_service("tenant_set_audit", tenant_id=tenant_id, **limits)

    async def schedules(self, claims: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
        """Per tenant: its time zone, schedule time and business days."""
        rows = await self._as_user(claims, "tenant_schedules")
        return {row["tenant_id"]: row for row in rows}

    async def secrets(self, claims: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
        """Per tenant: valid and expiring secrets, next expiry, last rotation."""
        rows = await self._as_user(claims, "tenant_secrets_overview")
        return {row["tenant_id"]: row for row in rows}

    async def events(self, claims: Mapping[str, Any],
                     limit: int = RECENT_EVENTS) -> list[dict[str, Any]]:
        """The latest pauses and resumes, newest first."""
        return await self._as_user(claims, "tenant_events_recent", limit=limit)

    async def set_paused(self, claims: Mapping[str, Any], tenant_id: str, paused: bool,
                         reason: str | None) -> dict[str, Any]:
        """Pause (with a reason) or resume, as the calling admin (recorded as its `sub`)."""
        async with self.db.user_transaction(claims) as tx:
            try:
                result: dict[str, Any] = await tx.fetch_value(
                    "tenant_set_paused", tenant_id=tenant_id, paused=paused, reason=reason)
            except Forbidden as exc:
                raise NotAdmin("pausing and resuming a tenant is for the admin role (refused "
                               "by the database)") from exc
            except NotFound as exc:
                raise TenantNotFound(f"no tenant {tenant_id}") from exc
            except InvalidInput as exc:
                raise TenantError(exc.message) from exc
        return result

    async def pause(self, tenant_id: str, reason: str, actor: str) -> dict[str, Any]:
        """Quarantine a tenant: its imports answer 423 and stage nothing until resumed."""
        return await self._as_service("tenant_pause", tenant_id=tenant_id, reason=reason,
                                      actor=actor)

    async def resume(self, tenant_id: str, actor: str) -> dict[str, Any]:
        return await self._as_service("tenant_resume", tenant_id=tenant_id, actor=actor)

    async def _as_service(self, name: str, **params: Any) -> dict[str, Any]:
        async with self.db.transaction() as tx:
            try:
                result: dict[str, Any] = await tx.fetch_value(name, **params)
            except NotFound as exc:
                raise TenantNotFound(f"no tenant {params['tenant_id']}; create it with "
                                     "`tenant add`") from exc
            except InvalidInput as exc:
                raise TenantError(exc.message) from exc
        return result
