"""What every CLI verb shares: settings, the database (embedded or `DATABASE_URL`), and
turning expected errors into one line on stderr with a non-zero exit."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import NoReturn, TypeVar

import psycopg

from projects_import.db import embedded, migrations
from projects_import.db.connection import Database, resolve_database_url
from projects_import.directories import DirectoryError
from projects_import.imports.contract import ContractError
from projects_import.imports.service import BatchNotFound, ImportBusy
from projects_import.settings import Settings
from projects_import.tenants import TenantError

T = TypeVar("T")

# errors whose message is already one line fit for the operator
EXPECTED_ERRORS: tuple[type[Exception], ...] = (
    TenantError, DirectoryError, BatchNotFound, migrations.MigrationError,
)


def fail(message: str, code: int = 1) -> NoReturn:
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(code)


def settings() -> Settings:
    try:
        return Settings()
    except Exception as exc:  # pydantic's message names the variable
        fail(f"invalid configuration: {exc}".splitlines()[0] + " (check the environment)")


def database_url(config: Settings) -> str:
    """Resolve and migrate the configured database."""
    try:
        url = resolve_database_url(config)
        migrations.migrate(url)
    except psycopg.OperationalError as exc:
        fail(f"cannot connect to the database: {str(exc).strip().splitlines()[0]}")
    except migrations.MigrationError as exc:
        fail(str(exc))
    return url


@asynccontextmanager
async def open_database(config: Settings) -> AsyncIterator[Database]:
    async with Database(database_url(config), max_size=2) as db:
        yield db


@contextmanager
def expected_errors() -> Iterator[None]:
    try:
        yield
    except ContractError as exc:
        first = exc.violations[0].message if exc.violations else "contract violation"
        fail(first)
    except ImportBusy:
        fail("another import for this tenant is in progress; try again shortly")
    except EXPECTED_ERRORS as exc:
        fail(str(exc))


def run(config: Settings, work: Callable[[Database], Awaitable[T]]) -> T:
    """Run `work` against the configured database, then release the embedded server."""
    async def main() -> T:
        async with open_database(config) as db:
            return await work(db)

    try:
        with expected_errors():
            return asyncio.run(main())
    finally:
        if not config.database_url:
            embedded.stop_server(config.home)
