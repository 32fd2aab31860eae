"""How the console shows times and SLA clocks: in the tenant's time zone, UTC on hover."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from markupsafe import Markup, escape


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def time_tag(moment: datetime | None, zone: str | None = "UTC", *,
             short: bool = False) -> Markup:
    """`<time>` in the tenant's zone, with the UTC instant as its title and datetime;
    `short` leaves the year out (badges)."""
    if moment is None:
        return Markup('<span class="muted">-</span>')
    utc = moment.astimezone(UTC)
    local = moment.astimezone(_zone(zone))
    return Markup('<time datetime="{}" title="{} UTC">{}</time>').format(
        utc.isoformat(timespec="seconds"), utc.strftime("%Y-%m-%d %H:%M:%S"),
        local.strftime("%d %b %H:%M %Z" if short else "%Y-%m-%d %H:%M %Z"))


def sla_badge(problem: Mapping[str, Any], now: datetime | None = None) -> Markup:
    """The clock that matters now: acknowledge (open) or resolve (not resolved yet)."""
    if problem.get("status") == "resolved":
        return Markup("")
    now = now or datetime.now(UTC)
    zone = problem.get("timezone")
    clocks = []
    if problem.get("status") == "open" and problem.get("ack_due_at"):
        clocks.append(("ack", problem["ack_due_at"]))
    if problem.get("resolve_due_at"):
        clocks.append(("resolve", problem["resolve_due_at"]))
    badges = []
    for name, due in clocks:
        overdue = due < now
        badges.append(Markup('<span class="badge {}">{} {} {}</span>').format(
            "overdue" if overdue else "due", name, "overdue since" if overdue else "due",
            time_tag(due, zone, short=True)))
    return Markup(" ").join(badges)


def break_at_underscores(text: str | None) -> Markup:
    """Let long names like UNKNOWN_DELIVERY_PARTNER wrap after an underscore in a table."""
    return Markup("_<wbr>").join(escape(part) for part in (text or "").split("_"))


# What each code means, in words; the code itself stays beside it in small text.
LABELS = {"UNKNOWN_DELIVERY_PARTNER": "Unknown delivery partner",
          "UNKNOWN_DS": "Unknown deployment specialist",
          "UNKNOWN_RM": "Unknown relationship manager",
          "directory_fix": "directory fix", "data_fix": "fixed in the data",
          "manual": "by hand",
          # import answers (error_code)
          "contract_violation": "rows break the contract", "tenant_paused": "tenant paused",
          "batch_rejected": "re-send of a rejected batch", "import_in_progress": "busy",
          "invalid_body": "not a valid body", "unauthorized": "bad or missing secret",
          "unknown_tenant": "unknown tenant", "payload_too_large": "too large",
          # contract violations
          "required": "missing", "too_long": "too long", "invalid_date": "not a date",
          "not_integer": "not a whole number", "negative": "below zero",
          "out_of_range": "out of range", "invalid_type": "wrong type",
          "duplicate": "appears twice", "batch_conflict": "batch id reused",
          "invalid_value": "cannot be stored"}


def project_link(tenant_id: str | None, project_key: str | None) -> Markup:
    """A project key linked to its page (/dashboard/projects/{tenant}/{key})."""
    if not tenant_id or not project_key:
        return Markup("{}").format(project_key or "")
    href = f"/dashboard/projects/{quote(tenant_id, safe='')}/{quote(project_key, safe='')}"
    return Markup('<a class="project-link" href="{}">{}</a>').format(href, project_key)


def code_label(code: str | None) -> Markup:
    """A code in words, with the code in small text (for search and the API)."""
    if not code:
        return Markup("")
    words = LABELS.get(code)
    if words is None:
        return Markup('<span class="code">{}</span>').format(code)
    return Markup('{} <small class="code">{}</small>').format(words, code)


def age(moment: datetime | None, now: datetime | None = None) -> str:
    """How long ago, roughly: "45 min", "5 h", "3 d"."""
    if moment is None:
        return ""
    seconds = max(0, int(((now or datetime.now(UTC)) - moment).total_seconds()))
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 2 * 86400:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} d"
