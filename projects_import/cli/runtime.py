"""What every CLI verb shares: settings, the database (embedded or `DATABASE_URL`), and the one
place that turns expected errors into one `error:` line on stderr with a non-zero exit."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any, NoReturn, TypeVar

import psycopg
import pydantic
from typer.core import TyperGroup

from projects_import.db import embedded, migrations
from projects_import.db.connection import Database, resolve_database_url
from projects_import.errors import ProjectsImportError
from projects_import.settings import Settings

T = TypeVar("T")


def fail(message: str, code: int = 1) -> NoReturn:
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(code)


def message_of(exc: ProjectsImportError) -> str:
    """One line for the operator: a contract error shows its first violation."""
    first = exc.violations[0] if exc.violations else None
    message = getattr(first, "message", None)
    return message if isinstance(message, str) else exc.message


@contextmanager
def expected_errors() -> Iterator[None]:
    """The CLI's one error mapping."""
    try:
        yield
    except ProjectsImportError as exc:
        fail(message_of(exc), getattr(exc, "exit_code", 1))
    except psycopg.OperationalError as exc:
        fail(f"cannot connect to the database: {str(exc).strip().splitlines()[0]}")
    except psycopg.Error as exc:
        fail(f"the database refused: {exc.diag.message_primary or type(exc).__name__}")


class CommandGroup(TyperGroup):
    """The root command group: every verb runs inside `expected_errors`."""

    def invoke(self, ctx: Any) -> Any:  # typer's (vendored) click Context
        with expected_errors():
            return super().invoke(ctx)


def settings() -> Settings:
    try:
        return Settings()
    except pydantic.ValidationError as exc:  # `loc` is the variable's name (the field alias)
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or 'settings'}: "
            f"{str(error['msg']).splitlines()[0]}" for error in exc.errors())
        fail(f"invalid configuration: {problems} (check the environment)")


def database_url(config: Settings) -> str:
    """Resolve and migrate the configured database."""
    url = resolve_database_url(config)
    migrations.migrate(url)
    return url


@asynccontextmanager
async def open_database(config: Settings) -> AsyncIterator[Database]:
    async with Database(database_url(config), max_size=2) as db:
        yield db


def run(config: Settings, work: Callable[[Database], Awaitable[T]]) -> T:
    """Run `work` against the configured database, then release the embedded server."""
    async def main() -> T:
        async with open_database(config) as db:
            return await work(db)

    try:
        return asyncio.run(main())
    finally:
        if not config.database_url:
            embedded.stop_server(config.home)
