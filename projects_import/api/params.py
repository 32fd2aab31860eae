"""Query parameters, parsed one way: typed FastAPI parameters, with these validators for what a
type alone cannot say. A bad value is a 400 `invalid_parameters` naming the parameter (the
validation handler in `api/errors.py` builds it)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query
from pydantic import AfterValidator, BeforeValidator

from projects_import.anomalies.manager import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    MAX_WINDOW_HOURS,
    AnomalyFilter,
)
from projects_import.tenants import TENANT_ID
from projects_import.vocabulary import FALSE_STRINGS, SEVERITIES, TRUE_STRINGS


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


def anomaly_selection(
    window_hours: Annotated[int, Query(
        alias="windowHours", ge=1, le=MAX_WINDOW_HOURS,
        description=f"1..{MAX_WINDOW_HOURS}, default 24")] = 24,
    tenant: Annotated[str | None, AfterValidator(tenant_id), Query(
        description="only this tenant")] = None,
    severity: Annotated[str | None, AfterValidator(severity_list), Query(
        description="comma list of error,warning,info")] = None,
    limit: Annotated[int, Query(
        ge=1, le=MAX_LIMIT, description=f"rows, 1..{MAX_LIMIT}, default {DEFAULT_LIMIT}")
    ] = DEFAULT_LIMIT,
) -> AnomalyFilter:
    """Which anomalies GET /anomalies reads."""
    return AnomalyFilter(window_hours=window_hours, tenant=tenant,
                         severities=tuple(severity.split(",")) if severity else None,
                         limit=limit)


AnomalySelection = Annotated[AnomalyFilter, Depends(anomaly_selection)]
