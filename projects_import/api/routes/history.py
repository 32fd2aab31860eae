"""GET /imports and GET /imports/{id} — the import history for operators (SPEC §9).

Reads run in the database under the caller's JWT claims (`ImportHistory`), so the operator
RPCs and row-level security refuse a non-operator even past the role check here.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, Field

from projects_import.api.deps import AdminClaims, ImportHistoryDep, OperatorClaims, ReviewDep
from projects_import.api.errors import ApiError
from projects_import.api.params import StrictParameters
from projects_import.imports.history import (
    BATCH_STATES,
    DEFAULT_LIMIT,
    DETAIL_FIELDS,
    IMPORT_FIELDS,
    MAX_LIMIT,
    ImportFilter,
    public_row,
)
from projects_import.imports.review import actor_of
from projects_import.vocabulary import TENANT_ID

router = APIRouter(tags=["imports"])


# 400, 401, 403, 500 and 503 with the error schema are added for every operator route by
# api/openapi.py; a missing request is this route's own.
_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {
    "description": "no import request with that id",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}}


class ImportHistoryRow(BaseModel):
    id: int
    tenant_id: str
    received_at: datetime
    request_batch_id: str | None
    batch_id: uuid.UUID | None
    source: str | None
    status: int
    error_code: str | None
    rows: int | None
    inserted_projects: int | None
    updated_projects: int | None
    unchanged_projects: int | None
    anomalies_count: int | None
    parse_ms: float | None
    merge_ms: float | None
    correlation_id: uuid.UUID
    replayed: bool
    batch_state: str | None


class ImportHistoryPage(BaseModel):
    imports: list[ImportHistoryRow]
    next_cursor: str | None


class ViolationPlace(BaseModel):
    row_index: int | None
    field: str
    code: str


class ViolationsSummary(BaseModel):
    by_code: dict[str, int]
    first: list[ViolationPlace]


class ImportHistoryDetail(ImportHistoryRow):
    org_memberships_upserted: int | None
    user_memberships_upserted: int | None
    bytes: int | None
    staging_id: uuid.UUID | None
    staged_at: datetime | None
    staged_metrics: dict[str, Any] | None
    reruns: list[dict[str, Any]]
    violations_total: int | None
    violations_summary: ViolationsSummary | None
    batch: dict[str, Any] | None


class RejectBody(BaseModel):
    reason: str = Field(min_length=1, max_length=500)


BatchState = Literal["merged", "held", "published", "rejected", "superseded"]


@router.get("/imports", summary="Import requests, newest first (operators and admins)",
            response_model=ImportHistoryPage)
async def list_imports(
    request: Request,
    history: ImportHistoryDep,
    claims: OperatorClaims,
    _strict: StrictParameters,  # after the claims: who may not read gets its 401/403 first
    tenant: Annotated[str | None, Query(description="only this tenant",
                                        pattern=TENANT_ID.pattern)] = None,
    status: Annotated[int | None, Query(
        description="only requests answered with this HTTP status code, e.g. 200 or 422",
        ge=100, le=599)] = None,
    since: Annotated[datetime | None, Query(
        description="only requests received at or after this ISO 8601 date-time "
                    "(UTC when it has no offset)")] = None,
    cursor: Annotated[str | None, Query(
        description="next_cursor of the previous page", max_length=200)] = None,
    limit: Annotated[int, Query(description=f"rows per page, 1..{MAX_LIMIT}",
                                ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    batch_state: Annotated[BatchState | None, Query(
        description="only requests whose staged batch is in this state: "
                    + ", ".join(BATCH_STATES))] = None,
) -> dict[str, Any]:
    raw_since = request.query_params.get("since", "").strip()
    if raw_since and raw_since.lstrip("+-").replace(".", "", 1).isdigit():
        # pydantic would read a bare number as a Unix time; the contract says ISO 8601
        raise ApiError(400, "invalid_parameters",
                       "since: must be an ISO 8601 date-time, e.g. 2026-11-25T00:00:00Z")
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    after = history.after(cursor) if cursor else None
    selection = ImportFilter(tenant=tenant, status=status, since=since, after=after,
                             limit=limit, batch_state=batch_state)
    if tenant:
        request.state.log_fields["tenant_id"] = tenant
    page = await history.page(claims, selection)
    request.state.log_fields["rows"] = len(page.rows)
    return {"imports": [public_row(row, IMPORT_FIELDS) for row in page.rows],
            "next_cursor": page.next_cursor}


@router.get("/imports/{import_id}", summary="One import request with its staged metrics, "
            "reruns and violations summary", response_model=ImportHistoryDetail,
            responses=_NOT_FOUND)
async def get_import(
    request: Request,
    history: ImportHistoryDep,
    claims: OperatorClaims,
    import_id: Annotated[int, Path(ge=1, le=2**63 - 1, description="the request's id")],
) -> dict[str, Any]:
    row = await history.get(claims, import_id)
    request.state.log_fields["tenant_id"] = row["tenant_id"]
    return public_row(row, DETAIL_FIELDS)


_ImportId = Annotated[int, Path(ge=1, le=2**63 - 1, description="the request's id")]


@router.post("/imports/{import_id}/publish", summary="Publish a held batch (admins)",
             responses=_NOT_FOUND)
async def publish_import(request: Request, review: ReviewDep, claims: AdminClaims,
                         import_id: _ImportId) -> dict[str, Any]:
    result = await review.publish(import_id, actor_of(claims))
    request.state.log_fields["batch_id"] = str(result["batch_id"])
    return result


@router.post("/imports/{import_id}/reject", summary="Reject a held batch (admins)",
             responses=_NOT_FOUND)
async def reject_import(request: Request, review: ReviewDep, claims: AdminClaims,
                        import_id: _ImportId, body: RejectBody) -> dict[str, Any]:
    if not body.reason.strip():
        raise ApiError(422, "invalid_parameters", "reason: must not be blank")
    result = await review.reject(import_id, body.reason.strip(), actor_of(claims))
    request.state.log_fields["batch_id"] = str(result["batch_id"])
    return result


@router.get("/imports/{import_id}/diff", summary="What publishing a held batch would change "
            "(admins)", responses=_NOT_FOUND)
async def diff_import(review: ReviewDep, claims: AdminClaims, import_id: _ImportId,
                      page: Annotated[int, Query(ge=1, le=100000)] = 1) -> dict[str, Any]:
    return await review.diff(import_id, page=page)
