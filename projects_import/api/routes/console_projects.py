"""The console's page of one project, problem or not: /dashboard/projects/{tenant}/{key}.

Its values and canonical resolution, its active memberships (vw_project_members), its problems
and the batches known to have touched it. Read under the signed-in user's claims (row-level
security), like every console page."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from projects_import.api.deps import TenantStatusDep, WorklistDep
from projects_import.api.pages import PageUser, page, refused_page
from projects_import.console.errors import ConsoleError
from projects_import.errors import ProjectsImportError
from projects_import.tenants import TENANT_ID

router = APIRouter(tags=["console"], include_in_schema=False)

MAX_KEY = 256


@router.get("/dashboard/projects/{tenant_id}/{project_key:path}")
async def project_page(tenant_id: str, project_key: str, session: PageUser,
                       worklist: WorklistDep, tenant_status: TenantStatusDep) -> Response:
    try:
        if not TENANT_ID.match(tenant_id):
            raise ConsoleError(f"{tenant_id[:40]!r} is not a tenant id", http_status=404)
        if not project_key or len(project_key) > MAX_KEY:
            raise ConsoleError(f"a project key is 1 to {MAX_KEY} characters", http_status=404)
        found = await worklist.project(session.claims, tenant_id, project_key)
        tenants = await tenant_status.status(session.claims)
    except ProjectsImportError as exc:
        return refused_page(exc, session)
    zone = next((t["timezone"] for t in tenants if t["tenant_id"] == tenant_id), "UTC")
    return page("project.html", title=f"Project {project_key}", section="problems",
                 user=session.user, csrf=session.csrf, tenant_id=tenant_id,
                 project_key=project_key, page=found, zone=zone)
