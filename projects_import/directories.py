"""Directory CSV imports: partner aliases, deployment specialists, relationship managers."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from projects_import.db.connection import Database
from projects_import.errors import ProjectsImportError
from projects_import.vocabulary import FALSE_STRINGS, TRUE_STRINGS, directory_key

COLUMNS = {
    "partners": ("alias", "canonical"),
    "ds": ("preferred_username", "display_name", "active"),
    "rm": ("display_name", "preferred_username", "active"),
}
# a blank `active` cell means active
_TRUE = TRUE_STRINGS | {"", "active"}
_FALSE = FALSE_STRINGS | {"inactive"}


class DirectoryError(ProjectsImportError):
    """The CSV cannot be imported; the message names the line and column."""

    code = "directory_error"


class DuplicateRows(DirectoryError):
    """Two lines of the file are the same directory row once normalized (the database's
    fn_directory_key): the file is refused before anything is written (exit 2)."""

    code = "duplicate_rows"
    exit_code = 2


@dataclass
class DirectoryImport:
    kind: str
    rows: int
    changed: int


def _active(value: str | None, line: int) -> bool:
    text = (value or "").strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise DirectoryError(f"line {line}: active must be true/false, got {value!r}")


def read_csv(kind: str, path: Path) -> dict[str, list[Any]]:
    """Column arrays for the kind's upsert query, validated. Two lines whose key (partners:
    alias; ds, rm: preferred_username) is the same by `directory_key` — the database's
    matching rule — refuse the file, naming both lines."""
    if kind not in COLUMNS:
        raise DirectoryError(f"unknown directory {kind!r}; use one of {', '.join(COLUMNS)}")
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise DirectoryError(f"cannot read {path}: {exc.strerror}") from exc
    with handle:
        reader = csv.DictReader(handle)
        header = [name.strip() for name in reader.fieldnames or []]
        required = COLUMNS[kind] if kind != "ds" else ("preferred_username",)
        missing = [c for c in required if c not in header]
        if missing:
            raise DirectoryError(f"{path.name}: missing column(s) {', '.join(missing)}; "
                                 f"expected {','.join(COLUMNS[kind])}")
        reader.fieldnames = header
        by_key: dict[str, tuple[Any, ...]] = {}
        lines: dict[str, tuple[int, str]] = {}

        def keep(line: int, column: str, value: str, row: tuple[Any, ...]) -> None:
            key = directory_key(value)
            if key is None:
                raise DirectoryError(f"line {line}: {column} must not be blank")
            if key in lines:
                first, earlier = lines[key]
                raise DuplicateRows(
                    f"lines {first} and {line} name the same {column} {earlier!r} and "
                    f"{value!r} (directory keys ignore case and repeated spaces): keep one; "
                    "nothing was imported")
            lines[key] = (line, value)
            by_key[key] = row

        for line, raw in enumerate(reader, start=2):
            row = {k: (v or "").strip() for k, v in raw.items() if k is not None}
            if kind == "partners":
                if not row["alias"] or not row["canonical"]:
                    raise DirectoryError(f"line {line}: alias and canonical must not be blank")
                keep(line, "alias", row["alias"], (row["alias"], row["canonical"]))
            else:
                if not row["preferred_username"]:
                    raise DirectoryError(f"line {line}: preferred_username must not be blank")
                display = row.get("display_name") or None
                if kind == "rm" and not display:
                    raise DirectoryError(f"line {line}: display_name must not be blank")
                keep(line, "preferred_username", row["preferred_username"],
                     (row["preferred_username"], display, _active(row.get("active"), line)))
    if not by_key:
        raise DirectoryError(f"{path.name} has no data rows")
    values = list(zip(*by_key.values(), strict=True))
    if kind == "partners":
        return {"aliases": list(values[0]), "canonicals": list(values[1])}
    return {"usernames": list(values[0]), "display_names": list(values[1]),
            "actives": list(values[2])}


async def import_directory(db: Database, kind: str, tenant_id: str, path: Path) -> DirectoryImport:
    columns = read_csv(kind, path)
    name = {"partners": "partners_upsert", "ds": "ds_upsert", "rm": "rm_upsert"}[kind]
    async with db.transaction() as tx:
        if await tx.fetch_one("tenant_get", tenant_id=tenant_id) is None:
            raise DirectoryError(f"no tenant {tenant_id}; create it with `tenant add`")
        changed = await tx.execute(name, tenant_id=tenant_id, **columns)
    return DirectoryImport(kind=kind, rows=len(next(iter(columns.values()))), changed=changed)
