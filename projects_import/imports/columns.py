"""A validated batch as one PostgreSQL array literal per column (fn_projects_import_submit_columns).

PostgreSQL reads typed arrays far faster than it parses the same rows as jsonb and extracts
each field with `->>`. The literals are plain `str`, built where the batch was parsed (a worker,
off the event loop), so sending them costs the event loop no per-row work.
"""

from __future__ import annotations

from typing import Any

import orjson

from projects_import.imports.contract import COUNT_FIELDS, DATE_FIELD, TEXT_FIELDS

TEXT_COLUMNS = (*TEXT_FIELDS, DATE_FIELD)
INTEGER_COLUMNS = COUNT_FIELDS


def array_literal(values: list[Any]) -> str:
    """`values` (str, int or None) as a PostgreSQL array literal: `{"a","b",NULL}`, `{1,2}`.

    orjson writes the list as a JSON array. When that text has no backslash, no value holds a
    quote, a backslash or a control character, and JSON's `"…"` strings, numbers and `null`
    read the same inside an array literal; only the brackets differ. Otherwise each string is
    quoted with the array literal's own escapes."""
    encoded = orjson.dumps(values)
    if b"\\" not in encoded:
        return "{" + encoded[1:-1].decode() + "}"
    return "{" + ",".join(_element(value) for value in values) + "}"


def _element(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return str(int(value))


def row_columns(rows: list[dict[str, Any]]) -> dict[str, str]:
    """The normalized rows as one array literal per column, keyed by column name."""
    return {name: array_literal([row[name] for row in rows])
            for name in (*TEXT_COLUMNS, *INTEGER_COLUMNS)}
