"""The connection pool, and the one place that decides which PostgreSQL to use."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from projects_import.db import embedded
from projects_import.settings import Settings

AsyncConn = psycopg.AsyncConnection[dict[str, Any]]
# How long a request waits for a working connection (e.g. while the database restarts)
# before it answers 503.
POOL_TIMEOUT_SECONDS = 10.0


def resolve_database_url(settings: Settings) -> str:
    """`DATABASE_URL`, or the embedded server (started on first use) when it is unset."""
    if settings.database_url:
        return settings.database_url
    return embedded.embedded_database_url(settings.home)


class Database:
    """An async pool of dict-row connections to the system of record."""

    def __init__(self, url: str, *, max_size: int = 10) -> None:
        self.url = url
        self.pool: AsyncConnectionPool[AsyncConn] = AsyncConnectionPool(
            url,
            min_size=1,
            max_size=max_size,
            open=False,
            kwargs={"row_factory": dict_row, "autocommit": True},
            # A pooled connection may have died with a database restart: test it (one
            # empty round trip) before handing it out, so a restart costs no request.
            check=self._check,
            timeout=POOL_TIMEOUT_SECONDS,
            reconnect_timeout=POOL_TIMEOUT_SECONDS,
        )
        self._sweep: asyncio.Task[None] | None = None

    async def _check(self, conn: AsyncConn) -> None:
        """Test a connection on checkout; when one is dead the others died with it, most
        likely, so test them all at once instead of one by one per request."""
        try:
            await AsyncConnectionPool.check_connection(conn)
        except Exception:
            if self._sweep is None or self._sweep.done():
                self._sweep = asyncio.get_running_loop().create_task(self.pool.check())
            raise

    async def open(self) -> None:
        await self.pool.open(wait=True, timeout=30)

    async def close(self) -> None:
        if self._sweep is not None and not self._sweep.done():
            self._sweep.cancel()
        await self.pool.close()

    async def __aenter__(self) -> Database:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConn]:
        """A connection inside one transaction: all of it commits, or none of it."""
        async with self.pool.connection() as conn, conn.transaction():
            yield conn

    @asynccontextmanager
    async def user_transaction(self, claims: Mapping[str, Any]) -> AsyncIterator[AsyncConn]:
        """A transaction run as the `authenticated` role with the caller's JWT claims,
        so row-level security and the RPCs' checks apply (PostgREST's convention)."""
        async with self.transaction() as conn:
            await conn.execute(
                "select set_config('request.jwt.claims', %s, true)", (json.dumps(claims),)
            )
            await conn.execute("set local role authenticated")
            yield conn
