"""Page cursors: what a client sends back is refused cleanly unless this service issued it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from projects_import.anomalies.cursor import CursorCodec, InvalidCursor


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
