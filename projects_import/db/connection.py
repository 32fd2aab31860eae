"""The connector: the pool, named queries, transactions, and the one place that decides which
PostgreSQL to use. Nothing outside `db/` opens a connection or a cursor.

Every call names a query of `sql/queries.sql` and passes its parameters as keywords; a database
refusal with a known SQLSTATE comes out as a domain error (`db/errors.py`).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from projects_import.db import embedded
from projects_import.db.errors import domain_error
from projects_import.db.queries import query
from projects_import.settings import Settings

AsyncConn = psycopg.AsyncConnection[dict[str, Any]]
Row = dict[str, Any]
# How long a request waits for a working connection (e.g. while the database restarts)
# before it answers 503.
POOL_TIMEOUT_SECONDS = 10.0


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
        pooler = Settings().pooler
    if pooler is None:
        try:
            ports = str(conninfo_to_dict(url).get("port") or "").split(",")
        except psycopg.ProgrammingError:
            ports = []
        flagged = flagged or TRANSACTION_POOLER_PORT in ports
        pooler = "transaction" if flagged else "none"
    return url, ({"prepare_threshold": None} if pooler == "transaction" else {})


@contextmanager
def translated() -> Iterator[None]:
    """Re-raise a database refusal with a known SQLSTATE as its domain error."""
    try:
        yield
    except psycopg.Error as exc:
        error = domain_error(exc)
        if error is None:
            raise
        raise error from exc


class QuerySession:
    """Named queries on one connection: inside a transaction, or (from `Database.session`)
    autocommit, one statement at a time."""

    def __init__(self, conn: AsyncConn) -> None:
        self._conn = conn

    async def _run(self, name: str, params: Mapping[str, Any]) -> psycopg.AsyncCursor[Row]:
        with translated():
            return await self._conn.execute(query(name), params or None)

    async def fetch_one(self, name: str, **params: Any) -> Row | None:
        """The first row of the query, or None."""
        cur = await self._run(name, params)
        with translated():
            return await cur.fetchone()

    async def fetch_all(self, name: str, **params: Any) -> list[Row]:
        cur = await self._run(name, params)
        with translated():
            return await cur.fetchall()

    async def fetch_value(self, name: str, **params: Any) -> Any:
        """The first column of the one row the query must return."""
        row = await self.fetch_one(name, **params)
        if row is None:
            raise LookupError(f"query {name} returned no row")
        return next(iter(row.values()))

    async def execute(self, name: str, **params: Any) -> int:
        """Run the query; the number of rows it touched."""
        cur = await self._run(name, params)
        return cur.rowcount


class Database(QuerySession):
    """An async pool of dict-row connections to the system of record. Used directly, each
    call runs on a pooled connection of its own (autocommit)."""

    def __init__(self, url: str, *, max_size: int = 10, pooler: str | None = None) -> None:
        self.url, options = connection_options(url, pooler)
        self.pool: AsyncConnectionPool[AsyncConn] = AsyncConnectionPool(
            self.url,
            min_size=1,
            max_size=max_size,
            open=False,
            kwargs={"row_factory": dict_row, "autocommit": True, **options},
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

    async def fetch_one(self, name: str, **params: Any) -> Row | None:
        async with self.session() as session:
            return await session.fetch_one(name, **params)

    async def fetch_all(self, name: str, **params: Any) -> list[Row]:
        async with self.session() as session:
            return await session.fetch_all(name, **params)

    async def execute(self, name: str, **params: Any) -> int:
        async with self.session() as session:
            return await session.execute(name, **params)

    @asynccontextmanager
    async def session(self, *, timeout: float | None = None) -> AsyncIterator[QuerySession]:
        """One pooled connection for several statements, each committed on its own (work
        committed chunk by chunk; behind a transaction-mode pooler each may reach another
        server session, so nothing here may rely on session state)."""
        async with self.pool.connection(timeout=timeout) as conn:
            yield QuerySession(conn)

    @asynccontextmanager
    async def transaction(self, *, rollback: bool = False) -> AsyncIterator[QuerySession]:
        """One transaction: all of it commits, or none of it (with `rollback`, none ever)."""
        async with self.pool.connection() as conn, conn.transaction(force_rollback=rollback):
            yield QuerySession(conn)

    @asynccontextmanager
    async def user_transaction(self, claims: Mapping[str, Any], *, read_only: bool = False,
                               rollback: bool = False) -> AsyncIterator[QuerySession]:
        """A transaction run as the `authenticated` role with the caller's JWT claims,
        so row-level security and the RPCs' checks apply (PostgREST's convention); with
        `rollback`, nothing it does is ever committed (a preview)."""
        async with self.pool.connection() as conn, conn.transaction(force_rollback=rollback):
            # not translated: failing to take the role is a deployment fault, not a refusal
            if read_only:
                await conn.execute(query("transaction_read_only"))
            await conn.execute(query("transaction_claims"), {"claims": json.dumps(claims)})
            await conn.execute(query("transaction_role_authenticated"))
            yield QuerySession(conn)
