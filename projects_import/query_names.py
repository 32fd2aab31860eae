"""The one strict reading of a query string's names, for the API (`api/params.py`
StrictQuery, answering JSON) and the console's pages (answering HTML): a parameter the page
does not take, or one given twice, is refused by name — a misspelt filter must not silently
widen what an operator reads."""

from __future__ import annotations

from collections.abc import Collection, Iterable

from projects_import.errors import InvalidParameters

MAX_SHOWN = 40  # characters of a refused parameter name quoted back


def check_query_names(pairs: Iterable[tuple[str, str]], allowed: Collection[str],
                      where: str) -> None:
    """InvalidParameters naming the unknown parameters of `pairs`, else a repeated one;
    `where` names what takes `allowed` (a route's path, a page)."""
    counts: dict[str, int] = {}
    for name, _value in pairs:
        counts[name] = counts.get(name, 0) + 1
    unknown = [name for name in counts if name not in allowed]
    if unknown:
        takes = ", ".join(sorted(allowed)) or "none"
        named = ", ".join(repr(name[:MAX_SHOWN]) for name in unknown[:5])
        raise InvalidParameters(f"unknown query parameter(s) {named}; {where} takes: {takes}")
    repeated = [name for name, count in counts.items() if count > 1]
    if repeated:
        raise InvalidParameters(
            f"query parameter {repeated[0]!r} is given more than once; give it "
            "once (comma-separate several values where the parameter takes a list)")
