"""The OpenAPI schemas of query parameters whose accepted text a type alone cannot describe
(comma lists and flags, in any case, blanks allowed, as `api/params.py` parses them), so a
client generator or a fuzzer knows what is valid."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from pydantic import WithJsonSchema

from projects_import.vocabulary import FALSE_STRINGS, MAX_STRING, TENANT_ID_PATTERN, TRUE_STRINGS

# PostgreSQL text holds no NUL
NO_NUL = "^[^\\u0000]*$"


def _any_case(words: Iterable[str]) -> str:
    return "|".join("".join(f"[{c.upper()}{c}]" if c.isalpha() else re.escape(c) for c in word)
                    for word in sorted(words))


def comma_list(words: Iterable[str]) -> WithJsonSchema:
    """A comma list of `words` in any case, blanks allowed."""
    item = rf"\s*({_any_case(words)})?\s*"
    return WithJsonSchema({"type": "string", "pattern": f"^{item}(,{item})*$"})


def one_of(words: Iterable[str]) -> str:
    """A pattern for one of `words` in any case, or blank, with spaces around."""
    return rf"^\s*({_any_case(words)})?\s*$"


def flag(default: bool | None = None) -> WithJsonSchema:
    """true/false or one of their spellings (`parse_flag`)."""
    schema: dict[str, Any] = {"anyOf": [
        {"type": "boolean"},
        {"type": "string", "pattern": one_of(TRUE_STRINGS | FALSE_STRINGS)}]}
    if default is not None:
        schema["default"] = default
    return WithJsonSchema(schema)


def _blank_or(pattern: str) -> str:
    """A value matching `pattern` (anchored ^…$), or blank, with spaces around (as parsed)."""
    return rf"^\s*({pattern.removeprefix('^').removesuffix('$')})?\s*$"


TENANT = WithJsonSchema({"type": "string", "pattern": _blank_or(TENANT_ID_PATTERN)})
TEXT = WithJsonSchema({"type": "string", "maxLength": MAX_STRING, "pattern": NO_NUL})
CURSOR = WithJsonSchema({"type": "string", "maxLength": 512})
