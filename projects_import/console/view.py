"""The Overview's four charts, from what `read_overview` returned (SPEC §4.4; the
runbook's panels: success rate, anomalies by type, membership changes per batch, latency)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from markupsafe import Markup

from projects_import.console.charts import Series, bar_chart, line_chart
from projects_import.console.overview import BATCHES_CHARTED, OverviewData

TYPE_COLORS = {"UNKNOWN_DELIVERY_PARTNER": "#d97706", "UNKNOWN_DS": "#dc2626",
               "UNKNOWN_RM": "#7c3aed"}
OTHER_COLOR = "#6b7280"
GOOD, FAIR, POOR = "#16a34a", "#d97706", "#dc2626"


@dataclass(frozen=True)
class Figure:
    chart_id: str
    title: str
    caption: str
    svg: Markup


def bucket_label(moment: datetime, hourly: bool) -> str:
    return f"{moment:%H:00}" if hourly else f"{moment:%m-%d}"


def _when(moment: datetime, hourly: bool, zone: str) -> str:
    """A bucket's start (a wall-clock time of `zone`) for a tooltip."""
    return f"{moment:%Y-%m-%d %H:00} ({zone})" if hourly else f"{moment:%a %Y-%m-%d} ({zone})"


def _local(moment: datetime, zone: str) -> datetime:
    try:
        return moment.astimezone(ZoneInfo(zone))
    except (ValueError, ZoneInfoNotFoundError):
        return moment


def _rate_color(rate: float) -> str:
    return GOOD if rate >= 99 else FAIR if rate >= 90 else POOR


def success_rate(data: OverviewData) -> Figure:
    hourly = data.window.hourly
    labels: list[str] = []
    rates: list[float | None] = []
    colors: list[str | None] = []
    tips: list[str] = []
    for row in data.outcomes:
        labels.append(bucket_label(row["bucket_start"], hourly))
        when = _when(row["bucket_start"], hourly, data.window.zone)
        if row["requests"]:
            rate = 100 * row["succeeded"] / row["requests"]
            rates.append(rate)
            colors.append(_rate_color(rate))
            tips.append(f"{when}: {row['succeeded']} of {row['requests']} import requests "
                        f"succeeded ({rate:.1f}%)")
        else:
            rates.append(None)
            colors.append(None)
            tips.append(f"{when}: no import requests")
    svg = bar_chart("chart-success-rate", "Import success rate", labels,
                    [Series("success rate", rates, GOOD)], tooltips=tips, unit="%",
                    y_max=100, bar_colors=colors, empty_message="No import requests yet")
    return Figure("chart-success-rate", "Import success rate",
                  "Share of authenticated import requests answered 2xx, per "
                  f"{'hour' if hourly else 'day'}; a paused tenant's deliberate refusals "
                  "(423) are not counted.", svg)


def anomalies_by_type(data: OverviewData) -> Figure:
    hourly = data.window.hourly
    labels = [bucket_label(b, hourly) for b in data.buckets]
    series = [Series(name, values, TYPE_COLORS.get(name, OTHER_COLOR))
              for name, values in data.anomalies_over_time.items()]
    tips = []
    for i, bucket in enumerate(data.buckets):
        counts = ", ".join(f"{s.name} {s.values[i]}" for s in series if s.values[i])
        tips.append(f"{_when(bucket, hourly, data.window.zone)}: {counts or 'no anomalies'}")
    svg = bar_chart("chart-anomalies-by-type", "Anomalies by type over time", labels, series,
                    tooltips=tips, empty_message="No anomalies in this window")
    return Figure("chart-anomalies-by-type", "Anomalies by type over time",
                  f"Anomalies recorded per {'hour' if hourly else 'day'}, stacked by type.", svg)


def membership_changes(data: OverviewData) -> Figure:
    rows = data.membership_changes
    # numbered: batches staged in the same minute would otherwise read alike
    zone = data.window.zone
    labels = [f"{i}. {_local(row['staged_at'], zone):%H:%M:%S}"
              for i, row in enumerate(rows, start=1)]
    series = [
        Series("org upserted", [row["org_memberships_upserted"] for row in rows], "#2563eb"),
        Series("user upserted", [row["user_memberships_upserted"] for row in rows], "#0891b2"),
        Series("ended", [row["memberships_ended"] for row in rows], "#9ca3af"),
    ]
    tips = [f"{row['tenant_id']} batch {row['batch_id']} ({row['row_count']} rows, "
            f"{_local(row['staged_at'], zone):%Y-%m-%d %H:%M %Z}): "
            f"{row['org_memberships_upserted']} org "
            f"and {row['user_memberships_upserted']} user memberships upserted, "
            f"{row['memberships_ended']} ended" for row in rows]
    svg = bar_chart("chart-membership-changes", "Membership changes per batch", labels, series,
                    tooltips=tips, empty_message="No merged batches in this window")
    return Figure("chart-membership-changes", "Membership changes per batch",
                  f"The {len(rows)} most recent merged batches in the window"
                  + (f" of {data.window.tenant} (among the {BATCHES_CHARTED} latest of every "
                     "tenant)" if data.window.tenant else "")
                  + ", oldest first; labels on the charts' clock.",
                  svg)


def import_latency(data: OverviewData) -> Figure:
    hourly = data.window.hourly
    labels = [bucket_label(row["bucket_start"], hourly) for row in data.outcomes]

    def values(key: str) -> list[float | None]:
        return [None if row[key] is None else float(row[key]) for row in data.outcomes]

    series = [Series("p50", values("p50_ms"), "#2563eb"),
              Series("p95", values("p95_ms"), "#dc2626")]
    svg = line_chart("chart-import-latency", "Import latency", labels, series, unit=" ms",
                     point_tooltip="{series} {label}: {value}",
                     empty_message="No merged batches in this window")
    return Figure("chart-import-latency", "Import latency",
                  "Parse + merge time of merged (not replayed) batches, p50 and p95 per "
                  f"{'hour' if hourly else 'day'}.", svg)


def chart_figures(data: OverviewData) -> list[Figure]:
    return [success_rate(data), anomalies_by_type(data), membership_changes(data),
            import_latency(data)]
