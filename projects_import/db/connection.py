"""The connection pool, and the one place that decides which PostgreSQL to use."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from projects_import.db import embedded
from projects_import.settings import Settings, get_settings

AsyncConn = psycopg.AsyncConnection[dict[str, Any]]


def resolve_database_url(settings: Settings) -> str:
    """`DATABASE_URL`, or the embedded server (started on first use) when it is unset."""
    if settings.database_url:
        return settings.database_url
    return embedded.embedded_database_url(settings.home)


# Supabase's pooler in transaction mode listens on this port (session mode and direct: 5432).
TRANSACTION_POOLER_PORT = "6543"


def connection_options(url: str, pooler: str | None = None) -> tuple[str, dict[str, Any]]:
    """The URL to hand libpq and psycopg's connection options for it.

    Behind a transaction-mode pooler (`PROJECTS_IMPORT_POOLER=transaction`, or unset and the URL
    says so: port 6543 or `pgbouncer=true`) consecutive transactions may run on different server
    sessions, so nothing may rely on session state: prepared statements are off (psycopg's
    `prepare_threshold=None`), and every lock the service takes is transaction-scoped.
    `pgbouncer=true` (Prisma's spelling, in Supabase's connection strings) is removed, since
    libpq refuses parameters it does not know."""
    parts = urlsplit(url)
    flagged = False
    if parts.scheme in ("postgres", "postgresql") and parts.query:
        params = parse_qsl(parts.query, keep_blank_values=True)
        kept = [(k, v) for k, v in params if k != "pgbouncer"]
        flagged = any(k == "pgbouncer" and v.lower() == "true" for k, v in params)
        url = urlunsplit(parts._replace(query=urlencode(kept)))
    if pooler is None:
        pooler = get_settings().pooler
    if pooler is None:
        try:
            ports = str(conninfo_to_dict(url).get("port") or "").split(",")
        except psycopg.ProgrammingError:
            ports = []
        flagged = flagged or TRANSACTION_POOLER_PORT in ports
        pooler = "transaction" if flagged else "none"
    return url, ({"prepare_threshold": None} if pooler == "transaction" else {})


def transaction_pooler(url: str, pooler: str | None = None) -> bool:
    return "prepare_threshold" in connection_options(url, pooler)[1]


class Database:
    """An async pool of dict-row connections to the system of record."""

    def __init__(self, url: str, *, max_size: int = 10, pooler: str | None = None) -> None:
        self.url, options = connection_options(url, pooler)
        self.pool: AsyncConnectionPool[AsyncConn] = AsyncConnectionPool(
            self.url,
            min_size=1,
            max_size=max_size,
            open=False,
            kwargs={"row_factory": dict_row, "autocommit": True, **options},
        )

    async def open(self) -> None:
        await self.pool.open(wait=True, timeout=30)

    async def close(self) -> None:
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
