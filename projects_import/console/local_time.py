"""Times as the console shows them: on the tenant's wall clock, with the UTC instant in the
`<time>` element's `datetime` and on hover (`title`)."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import UTC, datetime

from markupsafe import Markup


def _zone(name: str | None) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


@dataclass(frozen=True)
class LocalTime:
    moment: datetime | None
    zone: str | None = "UTC"
    empty: str = "never"

    @property
    def utc(self) -> str:
        return "" if self.moment is None else f"{self.moment.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"

    @property
    def local(self) -> str:
        if self.moment is None:
            return ""
        return f"{self.moment.astimezone(_zone(self.zone)):%Y-%m-%d %H:%M %Z}"

    def __html__(self) -> str:
        if self.moment is None:
            return str(Markup('<span class="muted">{}</span>').format(self.empty))
        iso = self.moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
        return str(Markup('<time datetime="{}" title="{}">{}</time>').format(
            iso, self.utc, self.local))

    def __str__(self) -> str:
        return self.local or self.empty


def local_time(moment: datetime | None, zone: str | None = "UTC",
               empty: str = "never") -> LocalTime:
    return LocalTime(moment, zone, empty)


__all__ = ["LocalTime", "local_time"]
