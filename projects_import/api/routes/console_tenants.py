"""The console's tenants page, /dashboard/tenants: freshness, pause/resume with a reason
(admins), and when bearer secrets expire (never the secrets). Reads run under the signed-in
user's claims; pause and resume go through `fn_tenant_set_paused`, which checks the admin role
in the database, so a refusal here is a refusal there too."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import QueryParams

from projects_import.api.deps import ImportHistoryDep, TenantStatusDep
from projects_import.api.pages import PageSession, PageUser, checked_form, page, redirect, refused
from projects_import.api.routes.console_imports import daily_words
from projects_import.console.local_time import local_time
from projects_import.errors import Forbidden, NotFound
from projects_import.imports.history import ImportFilter, ImportHistory
from projects_import.tenant_status import MAX_REASON, NotAdmin
from projects_import.tenants import TENANT_ID, TenantError

router = APIRouter(tags=["console"], include_in_schema=False)

ADMIN = "admin"
RESEND_SHOWN = 50


@router.get("/dashboard/tenants")
async def tenants_page(request: Request, session: PageUser, manager: TenantStatusDep,
                       history: ImportHistoryDep) -> Response:
    user = session.user
    try:
        tenants = await manager.status(user.claims)
        secrets = await manager.secrets(user.claims)
        events = await manager.events(user.claims)
        daily = await daily_words(manager, user.claims, tenants)
    except Forbidden:
        return session.denied()
    zones = {row["tenant_id"]: row["timezone"] for row in tenants}
    done = request.query_params.get("done", "")
    flash = None
    resend: list[dict[str, Any]] = []
    action, _, done_tenant = done.partition(":")
    if action in ("paused", "resumed") and TENANT_ID.match(done_tenant):
        flash = f"Tenant {done_tenant} {action}."
        if action == "resumed":
            resend = await refused_while_paused(history, user.claims, done_tenant, events)
    return page("tenants.html", title="Tenants", section="tenants", user=user,
                 csrf=session.csrf, tenants=tenants, secrets=secrets, events=events,
                 zones=zones, can_pause=user.role == ADMIN, max_reason=MAX_REASON,
                 flash=flash, local=local_time, resend=resend, daily=daily,
                 resend_tenant=done_tenant,
                 resend_limit=RESEND_SHOWN)


async def refused_while_paused(history: ImportHistory, claims: dict[str, Any], tenant_id: str,
                               events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The batches the tenant's latest pause refused (423 `tenant_paused`): they need
    re-sending now it is resumed. Oldest first, one line per upstream batch id."""
    pauses = [e["at"] for e in events if e["tenant_id"] == tenant_id and e["action"] == "pause"]
    if not pauses:
        return []
    since = max(pauses)
    page = await history.page(claims, ImportFilter(tenant=tenant_id, status=423, since=since,
                                                   limit=RESEND_SHOWN))
    latest: dict[str, dict[str, Any]] = {}
    for row in page.rows:  # newest first: keep each batch's latest refusal
        if row["received_at"] >= since:
            latest.setdefault(row.get("request_batch_id") or f"request {row['id']}", row)
    return sorted(latest.values(), key=lambda row: row["received_at"])


async def _set_paused(request: Request, session: PageSession, manager: TenantStatusDep,
                      tenant_id: str, paused: bool) -> Response:
    form = await checked_form(request, session, "the tenants page")
    user = session.user
    if user.role != ADMIN:
        return refused("pausing and resuming a tenant is for the admin role")
    if not TENANT_ID.match(tenant_id):
        return refused("not a tenant id", 404)
    reason = form.get("reason", "").strip() if paused else None
    if paused and not reason:
        return refused("a pause needs a reason: say why imports are stopped", 400)
    if reason is not None and len(reason) > MAX_REASON:
        return refused(f"the reason is longer than {MAX_REASON} characters", 400)
    try:
        await manager.set_paused(user.claims, tenant_id, paused, reason)
    except NotAdmin as exc:
        return refused(exc.message)
    except NotFound as exc:
        return refused(exc.message, 404)
    except TenantError as exc:
        return refused(exc.message, 400)
    done = QueryParams({"done": f"{'paused' if paused else 'resumed'}:{tenant_id}"})
    return redirect(f"/dashboard/tenants?{done}")


@router.post("/dashboard/tenants/{tenant_id}/pause")
async def pause_tenant(request: Request, session: PageUser, manager: TenantStatusDep,
                       tenant_id: str) -> Response:
    return await _set_paused(request, session, manager, tenant_id, True)


@router.post("/dashboard/tenants/{tenant_id}/resume")
async def resume_tenant(request: Request, session: PageUser, manager: TenantStatusDep,
                        tenant_id: str) -> Response:
    return await _set_paused(request, session, manager, tenant_id, False)
