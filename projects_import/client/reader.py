"""Read an export file as a stream of rows.

CSV needs a header row with the contract's column names; JSON is either an array of rows or
a full import payload (`{"tenant_id", "source", "batch_id", "rows": [...]}`). Rows are yielded
one at a time, so a large file is never held in memory whole.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import ijson

from projects_import.errors import ProjectsImportError

# Top-level fields of a full-payload JSON file that the client carries over.
ENVELOPE_FIELDS = ("tenant_id", "source", "batch_id")
_BOM = b"\xef\xbb\xbf"
_JSON_ERRORS = (ijson.JSONError, ijson.IncompleteJSONError, UnicodeDecodeError, ValueError)


class ExportError(ProjectsImportError):
    """The file cannot be read as an export; the message says where and why."""


@dataclass
class Export:
    """An export file, its format and (for a full payload) its envelope fields."""

    path: Path
    format: str  # csv | json (an array of rows) | json-payload
    envelope: dict[str, str] = field(default_factory=dict)

    def rows(self) -> Iterator[dict[str, Any]]:
        """The file's rows in order, each a dict of column -> value."""
        with self.path.open("rb") as handle:
            _skip_bom(handle)
            if self.format == "csv":
                yield from _csv_rows(handle)
            else:
                yield from _json_rows(handle,
                                      "rows.item" if self.format == "json-payload" else "item")


def open_export(path: Path) -> Export:
    """Recognise the file's format (by suffix, else by its first character)."""
    if not path.is_file():
        raise ExportError(f"{path} is not a readable file")
    suffix = path.suffix.lower()
    with path.open("rb") as handle:
        first = _first_char(handle)
        if suffix == ".csv" or (suffix != ".json" and first not in (b"[", b"{")):
            return Export(path, "csv")
        _skip_bom(handle)
        if first == b"[":
            return Export(path, "json")
        if first != b"{":
            raise ExportError(f"{path.name} is not JSON: it must hold an array of rows or an "
                              "import payload object")
        return Export(path, "json-payload", _payload_envelope(handle, path.name))


def file_digest(path: Path) -> str:
    """SHA-256 of the file's bytes, read in blocks."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _skip_bom(handle: BinaryIO) -> None:
    """Position after a UTF-8 byte order mark, if the file starts with one."""
    handle.seek(0)
    if handle.read(3) != _BOM:
        handle.seek(0)


def _first_char(handle: BinaryIO) -> bytes:
    start = handle.read(4096).removeprefix(_BOM).lstrip()
    return start[:1]


def _csv_rows(handle: BinaryIO) -> Iterator[dict[str, Any]]:
    text = io.TextIOWrapper(handle, encoding="utf-8", newline="")
    reader = csv.reader(text)
    try:
        header = [name.strip() for name in next(reader, [])]
        if "stage_application" not in header:
            raise ExportError("the CSV needs a header row with the contract's column names "
                              "(at least stage_application)")
        repeated = sorted({name for name in header if header.count(name) > 1})
        if repeated or "" in header:
            raise ExportError("the CSV header has blank or repeated column names: "
                              f"{', '.join(repeated) or '(blank)'}")
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) > len(header):
                raise ExportError(f"CSV line {reader.line_num} has {len(cells)} cells but the "
                                  f"header has {len(header)} columns")
            cells += [""] * (len(header) - len(cells))
            yield dict(zip(header, cells, strict=True))
    except UnicodeDecodeError as exc:
        raise ExportError(f"the CSV is not UTF-8 (near line {reader.line_num + 1})") from exc
    except csv.Error as exc:
        raise ExportError(f"the CSV cannot be read at line {reader.line_num}: {exc}") from exc
    finally:
        text.detach()


def _json_rows(handle: BinaryIO, prefix: str) -> Iterator[dict[str, Any]]:
    number = 0
    try:
        for number, row in enumerate(ijson.items(handle, prefix, use_float=True), start=1):
            if not isinstance(row, dict):
                raise ExportError(f"row {number} of the JSON is not an object")
            yield row
    except _JSON_ERRORS as exc:
        raise ExportError(f"the JSON cannot be read after row {number}: "
                          f"{str(exc).splitlines()[0]}") from exc


def _payload_envelope(handle: BinaryIO, name: str) -> dict[str, str]:
    """The payload's top-level string fields, checking on the way that `rows` is an array."""
    envelope: dict[str, str] = {}
    rows_seen = False
    try:
        for prefix, event, value in ijson.parse(handle, use_float=True):
            if prefix in ENVELOPE_FIELDS and event == "string":
                envelope[prefix] = value
            elif prefix == "rows" and event in ("start_array", "start_map", "string", "number",
                                                  "boolean", "null"):
                if event != "start_array":
                    raise ExportError(f"`rows` in {name} must be an array")
                rows_seen = True
    except _JSON_ERRORS as exc:
        raise ExportError(f"{name} is not valid JSON: {str(exc).splitlines()[0]}") from exc
    if not rows_seen:
        raise ExportError(f"{name} is a JSON object without a `rows` array")
    return envelope
