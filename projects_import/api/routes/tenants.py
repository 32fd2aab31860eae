"""GET /tenants/status — every tenant's freshness and quarantine, for operators (SPEC §9).

Read under the caller's JWT claims through `fn_tenants_status_for_operator`, so the database
refuses a non-operator too.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from projects_import.api.deps import OperatorClaims, TenantStatusDep
from projects_import.api.params import StrictParameters
from projects_import.tenant_status import STATUS_FIELDS

router = APIRouter(tags=["tenants"])


class TenantFreshness(BaseModel):
    tenant_id: str
    timezone: str
    last_success_at: datetime | None
    late: bool
    paused: bool
    paused_reason: str | None
    paused_at: datetime | None
    audit: dict[str, Any]
    held: bool
    freshness: str


class TenantsStatus(BaseModel):
    tenants: list[TenantFreshness]


@router.get("/tenants/status", summary="Every tenant's last success, lateness and pause "
            "(operators and admins)", response_model=TenantsStatus)
async def tenants_status(tenants: TenantStatusDep, claims: OperatorClaims,
                         _strict: StrictParameters) -> dict[str, Any]:
    rows = await tenants.status(claims)
    return {"tenants": [{name: row[name] for name in STATUS_FIELDS} for row in rows]}
