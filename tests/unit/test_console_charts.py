"""The console Overview's SVG charts: well-formed, escaped, and drawn to scale."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from projects_import.console.charts import Series, _nice_max, bar_chart, line_chart

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = '<script>alert("x")</script>&'


def parse(markup: str) -> ET.Element:
    return ET.fromstring(str(markup))  # raises on anything that is not well-formed XML


def test_bar_chart_escapes_every_text_and_stacks_to_scale() -> None:
    svg = bar_chart("c1", f"title {HOSTILE}", [HOSTILE, "b"],
                    [Series(HOSTILE, [2, 0], "#000"), Series("other", [2, 1], "#111")],
                    tooltips=[f"tip {HOSTILE}", "tip b"])
    assert "<script" not in svg
    root = parse(svg)
    assert root.find(f"{SVG}title").text == f"title {HOSTILE}"
    bars = root.findall(f".//{SVG}g[@class='bar']")
    assert [b.get("data-label") for b in bars] == [HOSTILE, "b"]
    assert bars[0].find(f"{SVG}title").text == f"tip {HOSTILE}"
    rects = bars[0].findall(f"{SVG}rect")
    assert [r.get("data-series") for r in rects] == [HOSTILE, "other"]
    # axis top is 4 (whole steps); 2 + 2 fills the plot height exactly
    heights = [float(r.get("height")) for r in rects]
    assert heights[0] == heights[1] and abs(sum(heights) - 172) < 0.2
    assert len(bars[1].findall(f"{SVG}rect")) == 1  # a zero value draws nothing


def test_line_chart_breaks_at_missing_values_and_marks_each_point() -> None:
    svg = line_chart("c2", "latency", ["a", "b", "c", "d", "e"],
                     [Series("p50", [10, 20, None, 30, 40], "#000")], unit=" ms")
    root = parse(svg)
    assert len(root.findall(f"{SVG}polyline")) == 2
    points = root.findall(f"{SVG}circle")
    assert [p.get("data-value") for p in points] == ["10", "20", "30", "40"]
    assert points[0].find(f"{SVG}title").text == "p50 a: 10 ms"


def test_empty_charts_say_so() -> None:
    root = parse(bar_chart("c3", "t", ["a"], [Series("s", [None], "#000")],
                           empty_message="No imports"))
    assert root.find(f"{SVG}text[@class='chart-empty']").text == "No imports"
    root = parse(line_chart("c4", "t", [], [Series("s", [], "#000")]))
    assert root.find(f"{SVG}text[@class='chart-empty']").text == "No data"


def test_axis_tops_read_well() -> None:
    assert [_nice_max(v) for v in (0, 1, 5, 7, 19, 101)] == [4, 4, 8, 8, 20, 120]
    assert _nice_max(937, whole=False) == 1000
    assert _nice_max(0.3, whole=False) == 0.4
