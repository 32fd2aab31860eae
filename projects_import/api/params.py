"""Query parameters, parsed one way: typed FastAPI parameters, with these validators for what a
type alone cannot say. A bad value is a 400 `invalid_parameters` naming the parameter (the
validation handler in `api/errors.py` builds it)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic import AfterValidator, BeforeValidator

from projects_import.anomalies.manager import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    MAX_WINDOW_HOURS,
    AnomalyFilter,
)
from projects_import.anomalies.problems import DEFAULT_STATUSES, ProblemFilter
from projects_import.api import query_schemas as schemas
from projects_import.api.deps import AnomaliesDep, CursorsDep
from projects_import.imports.contract import storable
from projects_import.query_names import MAX_SHOWN, check_query_names
from projects_import.vocabulary import (
    ANOMALY_STATUSES,
    ANOMALY_TYPES,
    FALSE_STRINGS,
    MAX_STRING,
    SEVERITIES,
    TENANT_ID,
    TRUE_STRINGS,
)


def _query_names(dependant: Dependant) -> set[str]:
    names = {field.alias for field in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


def _declared(route: APIRoute) -> frozenset[str]:
    """The query parameters a route takes, its dependencies' included (kept on the route)."""
    names: frozenset[str] | None = getattr(route, "_query_parameter_names", None)
    if names is None:
        names = frozenset(_query_names(route.dependant))
        setattr(route, "_query_parameter_names", names)  # noqa: B010 — not a declared field
    return names


def strict_query(request: Request) -> None:
    """Refuse a query parameter the route does not take, or one given twice, naming it: a
    misspelt filter must not silently widen what an operator reads."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    check_query_names(request.query_params.multi_items(), _declared(route), route.path)


StrictQuery = Depends(strict_query)
# the same as a route's parameter, for a route that checks who asks first
StrictParameters = Annotated[None, StrictQuery]


def _choices(name: str, allowed: tuple[str, ...], *,
             upper: bool = False) -> Callable[[str | None], str | None]:
    """A validator for a comma list of `allowed` words: normalized, de-duplicated, joined."""
    def check(raw: str | None) -> str | None:
        if raw is None:
            return None
        wanted = [part.strip().upper() if upper else part.strip().lower()
                  for part in raw.split(",") if part.strip()]
        unknown = [part for part in wanted if part not in allowed]
        if unknown:
            raise ValueError(f"{name} accepts a comma list of {', '.join(allowed)}; unknown: "
                             f"{', '.join(repr(u[:MAX_SHOWN]) for u in unknown[:5])}")
        return ",".join(dict.fromkeys(wanted)) or None
    return check


def _words(value: str | None) -> tuple[str, ...] | None:
    return tuple(value.split(",")) if value else None


def text_value(raw: str | None) -> str | None:
    """A stored identifier (project key, upstream batch id): trimmed, at most 256 characters."""
    if raw is None or not raw.strip():
        return None
    text = raw.strip()
    if len(text) > MAX_STRING or not storable(text):
        raise ValueError(f"must be at most {MAX_STRING} printable characters")
    return text


def parse_flag(raw: object) -> object:
    """true/false and their usual spellings; a bare `?name` means true."""
    if not isinstance(raw, str):
        return raw
    text = raw.strip().lower()
    if text in TRUE_STRINGS or text == "":
        return True
    if text in FALSE_STRINGS:
        return False
    raise ValueError(f"must be true or false, got {raw[:32]!r}")


def severity_list(raw: str | None) -> str | None:
    """A comma list of severities, normalized and de-duplicated in order (None: all)."""
    if raw is None:
        return None
    wanted = [part.strip().lower() for part in raw.split(",") if part.strip()]
    unknown = [part for part in wanted if part not in SEVERITIES]
    if unknown:
        raise ValueError(f"severity accepts a comma list of {', '.join(SEVERITIES)}; "
                         f"unknown: {', '.join(repr(u[:32]) for u in unknown[:5])}")
    return ",".join(dict.fromkeys(wanted)) or None


def tenant_id(raw: str | None) -> str | None:
    """A tenant id (None when absent or blank)."""
    if raw is None or not raw.strip():
        return None
    if not TENANT_ID.match(raw.strip()):
        raise ValueError("tenant must be a tenant id: 1-64 letters, digits, '_', '.', ':' or "
                         "'-', starting with a letter or digit")
    return raw.strip()


def whole_number(name: str, raw: str, low: int, high: int) -> int:
    """`raw` as a whole number from `low` to `high` (for pages that answer in HTML)."""
    text = raw.strip()
    if not (text.isascii() and text.isdigit() and len(text) <= 12 and low <= int(text) <= high):
        raise ValueError(f"{name} must be a whole number from {low} to {high}")
    return int(text)


Flag = Annotated[bool, BeforeValidator(parse_flag)]


TenantParam = Annotated[str | None, AfterValidator(tenant_id), schemas.TENANT, Query(
    description="only this tenant")]
SeverityParam = Annotated[str | None, AfterValidator(severity_list), schemas.comma_list(
    SEVERITIES), Query(description=f"comma list of {', '.join(SEVERITIES)} (any case); "
                       "blank: all")]
AnomalyTypeParam = Annotated[str | None, AfterValidator(
    _choices("anomaly_type", ANOMALY_TYPES, upper=True)), schemas.comma_list(ANOMALY_TYPES),
    Query(description=f"comma list of {', '.join(ANOMALY_TYPES)} (any case); blank: all")]
StatusParam = Annotated[str | None, AfterValidator(_choices("status", ANOMALY_STATUSES)),
                        schemas.comma_list(ANOMALY_STATUSES), Query(
    description=f"comma list of {', '.join(ANOMALY_STATUSES)} (any case)")]
ProblemStatusParam = Annotated[str | None, AfterValidator(
    _choices("status", ANOMALY_STATUSES)), schemas.comma_list(ANOMALY_STATUSES), Query(
    description=f"comma list of {', '.join(ANOMALY_STATUSES)} (any case); default: open")]
OverdueParam = Annotated[bool | None, BeforeValidator(parse_flag), schemas.flag(), Query(
    description="true: only problems past an SLA clock; false: only those within")]
BatchParam = Annotated[str | None, AfterValidator(text_value), schemas.TEXT, Query(
    description="a batch: its UUID, or the upstream batch_id string it was sent with")]
ProjectParam = Annotated[str | None, AfterValidator(text_value), schemas.TEXT, Query(
    description="one project (stage_application)")]
CursorParam = Annotated[str | None, schemas.CURSOR, Query(
    max_length=512, description="`next_cursor` of the previous page, unchanged (any other "
    "value is a 400)")]
LimitParam = Annotated[int, Query(
    ge=1, le=MAX_LIMIT, description=f"rows, 1..{MAX_LIMIT}, default {DEFAULT_LIMIT}")]


async def _batch_ids(anomalies: AnomaliesDep, batch_id: str | None,
                     tenant: str | None) -> tuple[uuid.UUID, ...] | None:
    if batch_id is None:
        return None
    return tuple(await anomalies.batch_ids(batch_id, tenant))


async def anomaly_selection(
    anomalies: AnomaliesDep,
    cursors: CursorsDep,
    window_hours: Annotated[int, Query(
        alias="windowHours", ge=1, le=MAX_WINDOW_HOURS,
        description=f"1..{MAX_WINDOW_HOURS}, default 24")] = 24,
    tenant: TenantParam = None,
    severity: SeverityParam = None,
    limit: LimitParam = DEFAULT_LIMIT,
    anomaly_type: AnomalyTypeParam = None,
    status: StatusParam = None,
    batch_id: BatchParam = None,
    project_key: ProjectParam = None,
    cursor: CursorParam = None,
) -> AnomalyFilter:
    """Which anomalies GET /anomalies reads."""
    return AnomalyFilter(window_hours=window_hours, tenant=tenant,
                         severities=_words(severity),
                         limit=limit, anomaly_types=_words(anomaly_type),
                         statuses=_words(status),
                         batch_ids=await _batch_ids(anomalies, batch_id, tenant),
                         project_key=project_key,
                         after=cursors.decode("anomalies", cursor) if cursor else None)


AnomalySelection = Annotated[AnomalyFilter, Depends(anomaly_selection)]


def problem_selection_paged_by(cursor_kind: str
                               ) -> Callable[..., Awaitable[ProblemFilter]]:
    """The problems' filters as a dependency whose `cursor` is a position in the list of
    `cursor_kind` (the problems, or their groups)."""
    async def problem_selection(
        anomalies: AnomaliesDep,
        cursors: CursorsDep,
        tenant: TenantParam = None,
        severity: SeverityParam = None,
        limit: LimitParam = DEFAULT_LIMIT,
        anomaly_type: AnomalyTypeParam = None,
        status: ProblemStatusParam = None,
        batch_id: BatchParam = None,
        project_key: ProjectParam = None,
        overdue: OverdueParam = None,
        cursor: CursorParam = None,
    ) -> ProblemFilter:
        """Which problems GET /anomalies/problems lists (open ones unless `status` says)."""
        return ProblemFilter(tenant=tenant,
                             severities=_words(severity),
                             limit=limit, anomaly_types=_words(anomaly_type),
                             statuses=_words(status) or DEFAULT_STATUSES,
                             batch_ids=await _batch_ids(anomalies, batch_id, tenant),
                             project_key=project_key, overdue=overdue,
                             after=cursors.decode(cursor_kind, cursor) if cursor else None)

    return problem_selection


ProblemSelection = Annotated[ProblemFilter, Depends(problem_selection_paged_by("problems"))]
