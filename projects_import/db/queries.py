"""Named queries from `sql/queries.sql` (`-- name --` headers), loaded once."""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

_HEADER = re.compile(r"^-- ([a-z0-9_]+) --$", re.MULTILINE)


@cache
def queries() -> dict[str, str]:
    text = (resources.files("projects_import") / "sql" / "queries.sql").read_text()
    parts = _HEADER.split(text)
    named: dict[str, str] = {}
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        lines = [line for line in body.strip().splitlines() if not line.startswith("--")]
        named[name] = "\n".join(lines).strip().rstrip(";")
    return named


def query(name: str) -> str:
    return queries()[name]
