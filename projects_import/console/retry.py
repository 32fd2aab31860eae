"""A console write that PostgreSQL rolled back for a concurrent one (a deadlock or a
serialization failure: `RetryLater`) is run once more before the user is told; nothing of the
first attempt was written, so running it again is safe."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from projects_import.console.errors import ConsoleError
from projects_import.errors import RetryLater

T = TypeVar("T")
PAUSE_SECONDS = 0.2


async def retried_once(action: Callable[[], Awaitable[T]]) -> T:
    """`action()`, run again once if it was rolled back for a concurrent change; a second
    rollback is a ConsoleError (503, Retry-After) saying nothing changed and to try again."""
    try:
        return await action()
    except RetryLater:
        await asyncio.sleep(PAUSE_SECONDS)
    try:
        return await action()
    except RetryLater as exc:
        raise ConsoleError(
            "an import or another user was changing the same records at that moment, twice; "
            "nothing was changed. Try again in a few seconds",
            code=exc.code, http_status=exc.http_status, headers=exc.headers) from exc
