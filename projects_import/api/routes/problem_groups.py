"""GET /anomalies/problems/groups and the acknowledge/resolve steps on a group (SPEC §10).

A group is every problem of one (tenant_id, anomaly_type, unknown_value). The listing takes
the problems' filters; a step acts on every problem of the group that can take it and answers
per problem what it did or why it skipped it (already acknowledged, already resolved).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import Field

from projects_import.anomalies.groups import GroupKey
from projects_import.anomalies.problems import ProblemFilter
from projects_import.api.deps import AnomaliesDep, CursorsDep, GroupsDep, OperatorClaims
from projects_import.api.openapi_answers import GROUP_STEP, USER_ERRORS, ok
from projects_import.api.params import (
    AnomalyTypeParam,
    BatchParam,
    CursorParam,
    LimitParam,
    OverdueParam,
    ProblemStatusParam,
    ProjectParam,
    SeverityParam,
    StrictQuery,
    TenantParam,
    problem_selection,
)
from projects_import.api.routes.problems import StatusNote
from projects_import.tenants import TENANT_ID
from projects_import.vocabulary import MAX_STRING

router = APIRouter(tags=["problems"], dependencies=[StrictQuery], responses=USER_ERRORS)

CURSOR_KIND = "problem_groups"


async def group_selection(
    anomalies: AnomaliesDep,
    cursors: CursorsDep,
    tenant: TenantParam = None,
    severity: SeverityParam = None,
    limit: LimitParam = 100,
    anomaly_type: AnomalyTypeParam = None,
    status: ProblemStatusParam = None,
    batch_id: BatchParam = None,
    project_key: ProjectParam = None,
    overdue: OverdueParam = None,
    cursor: CursorParam = None,
) -> ProblemFilter:
    """The problems' filters (GET /anomalies/problems), with this list's own cursor."""
    chosen = await problem_selection(
        anomalies, cursors, tenant=tenant, severity=severity, limit=limit,
        anomaly_type=anomaly_type, status=status, batch_id=batch_id, project_key=project_key,
        overdue=overdue, cursor=None)
    return replace(chosen, after=cursors.decode(CURSOR_KIND, cursor) if cursor else None)


GroupSelection = Annotated[ProblemFilter, Depends(group_selection)]


class GroupStep(StatusNote):
    """Which group to act on (as GET /anomalies/problems/groups names it), and an optional
    note kept with each problem it changes."""

    tenant_id: str = Field(pattern=TENANT_ID.pattern, description="the group's tenant")
    anomaly_type: Literal["UNKNOWN_DELIVERY_PARTNER", "UNKNOWN_DS", "UNKNOWN_RM"]
    unknown_value: str = Field(min_length=1, max_length=MAX_STRING, pattern=r"^[^\u0000]*$",
                               description="the group's unknown value, as listed")

    @property
    def key(self) -> GroupKey:
        return GroupKey(self.tenant_id, self.anomaly_type, self.unknown_value)


@router.get("/anomalies/problems/groups",
            summary="Problems grouped by tenant, type and unknown value (the causes)",
            responses={200: ok("`groups` (most recently seen first) and `next_cursor`",
                               "ProblemGroupList")})
async def list_groups(request: Request, groups: GroupsDep, cursors: CursorsDep,
                      claims: OperatorClaims, selection: GroupSelection) -> dict[str, Any]:
    if selection.tenant:
        request.state.log_fields["tenant_id"] = selection.tenant
    rows, after = await groups.page(claims, selection)
    request.state.log_fields["rows"] = len(rows)
    return {"groups": rows,
            "next_cursor": cursors.encode(CURSOR_KIND, *after) if after else None}


async def _step(request: Request, groups: GroupsDep, claims: dict[str, Any],
                body: GroupStep, status: str) -> dict[str, Any]:
    request.state.log_fields["tenant_id"] = body.tenant_id
    answer = await groups.set_status(claims, body.key, status, body.note)
    request.state.log_fields["rows"] = answer["changed"]
    return answer


@router.post("/anomalies/problems/groups/acknowledge",
             summary="Acknowledge every open problem of a group",
             responses=GROUP_STEP)
async def acknowledge_group(request: Request, groups: GroupsDep, claims: OperatorClaims,
                            body: GroupStep) -> dict[str, Any]:
    return await _step(request, groups, claims, body, "acknowledged")


@router.post("/anomalies/problems/groups/resolve",
             summary="Resolve every unresolved problem of a group by hand",
             responses=GROUP_STEP)
async def resolve_group(request: Request, groups: GroupsDep, claims: OperatorClaims,
                        body: GroupStep) -> dict[str, Any]:
    return await _step(request, groups, claims, body, "resolved")
