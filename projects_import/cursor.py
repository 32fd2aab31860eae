"""Opaque page cursors for keyset pagination: base64url of a small JSON (which list, the last
row's sort timestamp and id) and an HMAC of it, so a cursor is only ever one this service
issued for that list. A tampered, truncated or foreign cursor is a 400, never a wrong page.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from datetime import datetime

from projects_import.errors import InvalidInput

_TAG_BYTES = 16


class InvalidCursor(InvalidInput):
    code = "invalid_parameters"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class CursorCodec:
    """Signs and reads cursors with a key derived from the service's JWT secret."""

    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(b"projects-import page cursor\0" + secret.encode()).digest()

    def _tag(self, body: str) -> str:
        return _b64(hmac.new(self._key, body.encode(), hashlib.sha256).digest()[:_TAG_BYTES])

    def encode(self, kind: str, at: datetime, row_id: int) -> str:
        body = _b64(json.dumps({"k": kind, "t": at.isoformat(), "i": row_id},
                               separators=(",", ":")).encode())
        return f"{body}.{self._tag(body)}"

    def decode(self, kind: str, cursor: str) -> tuple[datetime, int]:
        """The (timestamp, id) a page starts after; InvalidCursor for anything else."""
        refused = InvalidCursor(
            "cursor is not a cursor this service issued for this list: pass next_cursor from "
            "the previous page unchanged, with the same filters")
        if len(cursor) > 512 or not cursor.isascii():  # issued cursors are base64url
            raise refused
        body, _, tag = cursor.strip().partition(".")
        if not body or not hmac.compare_digest(tag, self._tag(body)):
            raise refused
        try:
            data = json.loads(_unb64(body))
            at = datetime.fromisoformat(data["t"])
            row_id = data["i"]
            valid = (data["k"] == kind and isinstance(row_id, int) and at.tzinfo is not None)
        except (binascii.Error, ValueError, TypeError, KeyError):
            raise refused from None
        if not valid:
            raise refused
        return at, row_id
