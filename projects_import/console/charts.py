"""Server-rendered SVG charts for the console's Overview: no script, no network fetch, no CDN.

Every piece of text that reaches the SVG goes through `html.escape`, so a value from the
database cannot open a tag. Colours and sizes use presentation attributes (no inline style),
which a strict Content-Security-Policy allows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 52, 12, 30, 38
PLOT_W, PLOT_H = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
MAX_X_LABELS = 8
GREY = "#6b7280"
GRID = "#e5e7eb"


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float | None]
    color: str


def _fmt(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".") if value % 1 else f"{int(value)}"


def _nice_max(value: float, *, whole: bool = True) -> float:
    """An axis top whose four grid steps read well: 1, 2, 2.5 or 5 times a power of ten
    (whole-number steps for counts)."""
    if value <= 0:
        return 4.0 if whole else 1.0
    wanted = value / 4
    if whole and wanted <= 1:
        return 4.0
    exponent = math.floor(math.log10(wanted))
    for factor in (1, 2, 2.5, 3, 4, 5, 10):
        step = factor * 10.0 ** exponent
        if whole and (step < 1 or step % 1):
            continue
        if step >= wanted:
            return 4 * step
    return 4 * 10.0 ** (exponent + 1)


def _open(chart_id: str, title: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{escape(chart_id)}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="{escape(chart_id)}-title" '
        'preserveAspectRatio="xMidYMid meet" font-family="system-ui, sans-serif" '
        'font-size="11">',
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>',
    ]


def _axes(y_max: float, unit: str) -> list[str]:
    parts = []
    for i in range(5):
        value = y_max * i / 4
        y = TOP + PLOT_H - PLOT_H * i / 4
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" '
                     f'stroke="{GRID}" stroke-width="1"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" '
                     f'fill="{GREY}">{escape(_fmt(value) + unit)}</text>')
    parts.append(f'<line x1="{LEFT}" y1="{TOP + PLOT_H}" x2="{WIDTH - RIGHT}" '
                 f'y2="{TOP + PLOT_H}" stroke="{GREY}" stroke-width="1"/>')
    return parts


def _x_labels(labels: Sequence[str], centers: Sequence[float]) -> list[str]:
    every = max(1, math.ceil(len(labels) / MAX_X_LABELS))
    return [f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" '
            f'fill="{GREY}">{escape(label)}</text>'
            for i, (label, x) in enumerate(zip(labels, centers, strict=True))
            if i % every == 0]


def _legend(series: Sequence[Series]) -> list[str]:
    parts, x = [], LEFT
    for s in series:
        parts.append(f'<rect x="{x}" y="8" width="10" height="10" fill="{escape(s.color)}"/>')
        parts.append(f'<text x="{x + 14}" y="17" fill="#111827">{escape(s.name)}</text>')
        x += 26 + round(7.5 * len(s.name))
    return parts


def _empty(message: str) -> str:
    return (f'<text class="chart-empty" x="{LEFT + PLOT_W / 2}" y="{TOP + PLOT_H / 2}" '
            f'text-anchor="middle" fill="{GREY}" font-size="13">{escape(message)}</text>')


def bar_chart(chart_id: str, title: str, labels: Sequence[str], series: Sequence[Series], *,
              tooltips: Sequence[str] = (), unit: str = "", y_max: float | None = None,
              bar_colors: Sequence[str | None] = (), empty_message: str = "No data") -> Markup:
    """Stacked bars, one per label; `tooltips` (one per label) become hover titles."""
    totals = [sum(s.values[i] or 0 for s in series) for i in range(len(labels))]
    top = y_max if y_max is not None else _nice_max(max(totals, default=0))
    slot = PLOT_W / max(len(labels), 1)
    bar_w = max(1.0, min(slot * 0.7, 48))
    centers = [LEFT + slot * (i + 0.5) for i in range(len(labels))]
    parts = _open(chart_id, title) + _axes(top, unit)
    if len(series) > 1:
        parts += _legend(series)
    for i, x in enumerate(centers):
        tip = escape(tooltips[i]) if i < len(tooltips) else ""
        stacked = 0.0
        group = [f'<g class="bar" data-label="{escape(labels[i])}">']
        if tip:
            group.append(f"<title>{tip}</title>")
        for s in series:
            value = s.values[i]
            if not value:
                continue
            height = PLOT_H * value / top
            y = TOP + PLOT_H - PLOT_H * stacked / top - height
            color = (bar_colors[i] if i < len(bar_colors) else None) or s.color
            group.append(f'<rect x="{x - bar_w / 2:.1f}" y="{y:.1f}" width="{bar_w:.1f}" '
                         f'height="{height:.1f}" fill="{escape(color)}" '
                         f'data-series="{escape(s.name)}" data-value="{_fmt(value)}"/>')
            stacked += value
        group.append("</g>")
        if len(group) > 2 or tip:
            parts += group
    parts += _x_labels(labels, centers)
    if not any(totals):
        parts.append(_empty(empty_message))
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 -- every text part went through escape()


def line_chart(chart_id: str, title: str, labels: Sequence[str], series: Sequence[Series], *,
               unit: str = "", point_tooltip: str = "{series} {label}: {value}",
               empty_message: str = "No data") -> Markup:
    """Lines with a marker per point; a missing value (None) breaks the line."""
    present = [v for s in series for v in s.values if v is not None]
    top = _nice_max(max(present, default=0), whole=False)
    slot = PLOT_W / max(len(labels), 1)
    centers = [LEFT + slot * (i + 0.5) for i in range(len(labels))]
    parts = _open(chart_id, title) + _axes(top, unit) + _legend(series)
    for s in series:
        runs: list[list[tuple[float, float]]] = [[]]
        points = []
        for i, value in enumerate(s.values):
            if value is None:
                runs.append([])
                continue
            x, y = centers[i], TOP + PLOT_H - PLOT_H * value / top
            runs[-1].append((x, y))
            tip = point_tooltip.format(series=s.name, label=labels[i], value=_fmt(value) + unit)
            points.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{escape(s.color)}" '
                          f'data-series="{escape(s.name)}" data-value="{_fmt(value)}">'
                          f"<title>{escape(tip)}</title></circle>")
        for run in runs:
            if len(run) > 1:
                path = " ".join(f"{x:.1f},{y:.1f}" for x, y in run)
                parts.append(f'<polyline points="{path}" fill="none" '
                             f'stroke="{escape(s.color)}" stroke-width="2"/>')
        parts += points
    parts += _x_labels(labels, centers)
    if not present:
        parts.append(_empty(empty_message))
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 -- every text part went through escape()
