"""Page cursors: what a client sends back is refused cleanly unless this service issued it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from projects_import.cursor import CursorCodec, InvalidCursor


def test_a_cursor_round_trips_and_is_bound_to_its_list() -> None:
    codec = CursorCodec("secret")
    at = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    cursor = codec.encode("problems", at, 42)
    assert codec.decode("problems", cursor) == (at, 42)
    with pytest.raises(InvalidCursor):
        codec.decode("anomalies", cursor)


@pytest.mark.parametrize("cursor", [
    "X\U0009a55f\u00b1.\x853",    # non-ASCII tag: hmac.compare_digest refuses str like that
    "\ud800.abc",                 # a lone surrogate cannot even be encoded
    "abc.def", "", ".", "a" * 600,
])
def test_foreign_cursors_are_invalid_not_errors(cursor: str) -> None:
    with pytest.raises(InvalidCursor):
        CursorCodec("secret").decode("problems", cursor)


def test_the_import_history_reads_only_its_own_cursors() -> None:
    """One codec for every list: the import history's cursors are signed and bound to it."""
    from projects_import.imports.history import ImportHistory, Keyset

    codec = CursorCodec("secret")
    history = ImportHistory(None, codec)  # type: ignore[arg-type]  # no query is run
    at = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    assert history.after(codec.encode("imports", at, 7)) == Keyset(at, 7)
    for foreign in (codec.encode("problems", at, 7), CursorCodec("other").encode("imports", at, 7),
                    "eyJ0IjoiMjAyNi0xMS0yNVQxMjowMDowMCswMDowMCIsImkiOjd9"):  # unsigned, as before
        with pytest.raises(InvalidCursor):
            history.after(foreign)
