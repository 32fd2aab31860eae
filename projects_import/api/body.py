"""Read a request body under a byte limit, stopping as soon as it is passed.

The limit is checked against `Content-Length` before reading, then while streaming; for
`Content-Encoding: gzip` it applies to the decoded size too (a small bomb cannot expand).
The whole body must arrive within a deadline (408 otherwise).
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import AsyncIterator

from starlette.requests import ClientDisconnect, Request

from projects_import.api.errors import ApiError


def _too_large(limit: int, what: str) -> ApiError:
    # Connection: close makes the server drop the connection after answering instead of
    # draining the rest of an oversized upload.
    return ApiError(413, "payload_too_large",
                    f"{what} is over the {limit}-byte limit; split the batch into smaller "
                    "chunks (projects-import send does this)",
                    headers={"Connection": "close"})


DEFAULT_BODY_TIMEOUT = 60.0


async def body_chunks(request: Request, timeout: float) -> AsyncIterator[bytes]:
    """The body's chunks; a 408 (closing the connection) when the whole body has not
    arrived within `timeout` seconds, so a client trickling bytes cannot hold a worker."""
    deadline = asyncio.get_running_loop().time() + timeout
    chunks = request.stream().__aiter__()
    while True:
        try:
            async with asyncio.timeout_at(deadline):  # no task per chunk, unlike wait_for
                chunk = await anext(chunks)
        except StopAsyncIteration:
            return
        except TimeoutError as exc:
            raise ApiError(408, "request_timeout",
                           f"the body did not arrive within {timeout:g} s; send it faster or "
                           "in smaller parts", headers={"Connection": "close"}) from exc
        yield chunk


async def read_body(request: Request, limit: int,
                    timeout: float = DEFAULT_BODY_TIMEOUT) -> tuple[bytes, int]:
    """(decoded body, bytes received on the wire)."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            if int(declared) > limit:
                raise _too_large(limit, "the body")
        except ValueError as exc:
            raise ApiError(400, "bad_request", "Content-Length is not a number") from exc

    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("identity", "gzip"):
        raise ApiError(400, "unsupported_encoding",
                       f"Content-Encoding {encoding!r} is not supported; use gzip or none")
    inflater = zlib.decompressobj(wbits=31) if encoding == "gzip" else None

    received = 0
    decoded = bytearray()
    try:
        async for chunk in body_chunks(request, timeout):
            received += len(chunk)
            if received > limit:
                raise _too_large(limit, "the body")
            if inflater is None:
                decoded += chunk
                continue
            try:
                data = chunk
                while data:
                    if inflater.eof:  # a gzip stream may hold several members, back to back
                        inflater = zlib.decompressobj(wbits=31)
                    decoded += inflater.decompress(data, limit + 1 - len(decoded))
                    if len(decoded) > limit:
                        raise _too_large(limit, "the decoded (gunzipped) body")
                    data = inflater.unused_data if inflater.eof else inflater.unconsumed_tail
            except zlib.error as exc:
                raise ApiError(400, "invalid_gzip", "the body is not valid gzip data") from exc
    except ClientDisconnect as exc:
        raise ApiError(400, "bad_request", "the client closed the connection mid-body") from exc
    if inflater is not None and not inflater.eof:
        raise ApiError(400, "invalid_gzip", "the gzip body is truncated")
    return bytes(decoded), received


async def discard_body(request: Request, limit: int,
                       timeout: float = DEFAULT_BODY_TIMEOUT) -> bool:
    """Read and drop the body of a request refused before reading it, so the connection can
    carry the answer and the next request; False when it is over `limit` (or the client went
    away), and the connection should be closed instead."""
    received = 0
    try:
        async for chunk in body_chunks(request, timeout):
            received += len(chunk)
            if received > limit:
                return False
    except (ClientDisconnect, ApiError):
        return False
    return True
