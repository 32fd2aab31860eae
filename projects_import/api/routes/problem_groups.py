"""GET /anomalies/problems/groups and the acknowledge/resolve steps on a group (SPEC §10).

A group is every problem of one (tenant_id, anomaly_type, unknown_value). The listing takes
the problems' filters; a step acts on every problem of the group that can take it and answers
per problem what it did or why it skipped it (already acknowledged, already resolved).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import Field

from projects_import.anomalies.groups import GroupKey
from projects_import.anomalies.problems import ProblemFilter
from projects_import.api.deps import CursorsDep, GroupsDep, OperatorClaims
from projects_import.api.openapi_answers import GROUP_STEP, USER_ERRORS, ok
from projects_import.api.params import (
    StrictQuery,
    problem_selection_paged_by,
)
from projects_import.api.routes.problems import StatusNote
from projects_import.tenants import TENANT_ID
from projects_import.vocabulary import MAX_STRING

router = APIRouter(tags=["problems"], dependencies=[StrictQuery], responses=USER_ERRORS)

CURSOR_KIND = "problem_groups"


# The problems' filters (GET /anomalies/problems), with this list's own cursor.
GroupSelection = Annotated[ProblemFilter, Depends(problem_selection_paged_by(CURSOR_KIND))]


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
