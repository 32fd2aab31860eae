"""Apply the plain-SQL migrations in `projects_import/sql/migrations`, in order, once each.

Safe to run twice and from several processes at once: each migration runs in its own
transaction, which first takes a transaction-scoped advisory lock and reads the ledger again,
and is recorded there with its checksum. No session state is used, so this works through a
transaction-mode pooler as well as over the direct connection.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from importlib import resources
from typing import TYPE_CHECKING

import psycopg

from projects_import.db.connection import connection_options
from projects_import.errors import ProjectsImportError
from projects_import.vocabulary import MIGRATIONS_LOCK

if TYPE_CHECKING:
    from projects_import.db.connection import QuerySession

_TABLE_DDL = """
create table if not exists public.projects_import_migrations (
    version     text primary key,
    name        text not null,
    checksum    text not null,
    applied_at  timestamptz not null default now()
)
"""


@dataclass(frozen=True)
class Migration:
    version: str
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


class MigrationError(ProjectsImportError):
    """A migration cannot be applied, or one changed after it was applied."""

    code = "migration_error"
    http_status = 503


@dataclass(frozen=True)
class MigrationStatus:
    """This database's ledger against the migrations this version ships."""

    applied: dict[str, str]
    pending: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)

    @property
    def current(self) -> bool:
        return not (self.pending or self.changed or self.unknown)

    def problems(self) -> str:
        """One line naming what is not current ('' when it is)."""
        return "; ".join(f"{label}: {', '.join(sorted(items))}" for label, items in
                         (("pending", self.pending), ("changed after applying", self.changed),
                          ("unknown to this version", self.unknown)) if items)


def available() -> list[Migration]:
    folder = resources.files("projects_import") / "sql" / "migrations"
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            version, _, rest = entry.name.partition("_")
            found.append(Migration(version, rest.removesuffix(".sql"), entry.read_text()))
    return sorted(found, key=lambda m: m.version)


def applied(conn: psycopg.Connection) -> dict[str, str]:
    """version → checksum of what this database has applied (empty when never migrated)."""
    exists = conn.execute(
        "select to_regclass('public.projects_import_migrations') is not null"
    ).fetchone()
    if not exists or not exists[0]:
        return {}
    rows = conn.execute("select version, checksum from public.projects_import_migrations")
    return {version: checksum for version, checksum in rows.fetchall()}


def applied_versions(database_url: str) -> list[str]:
    url, options = connection_options(database_url)
    with psycopg.connect(url, **options) as conn:
        return sorted(applied(conn))


def migrate(database_url: str) -> list[str]:
    """Apply pending migrations; returns the names applied by this call."""
    names: list[str] = []
    url, options = connection_options(database_url)
    with psycopg.connect(url, autocommit=True, **options) as conn:
        while True:
            with conn.transaction():
                conn.execute("select pg_advisory_xact_lock(%s, %s)", MIGRATIONS_LOCK)
                conn.execute(_TABLE_DDL)
                migration = _next_pending(applied(conn))
                if migration is None:
                    return names
                conn.execute(migration.sql.encode())
                conn.execute(
                    "insert into public.projects_import_migrations (version, name, checksum)"
                    " values (%s, %s, %s)",
                    (migration.version, migration.name, migration.checksum),
                )
            names.append(f"{migration.version}_{migration.name}")


def _next_pending(done: dict[str, str]) -> Migration | None:
    """The first migration not applied yet; refuses one that changed after it was applied."""
    for migration in available():
        if migration.version not in done:
            return migration
        if done[migration.version] != migration.checksum:
            raise MigrationError(
                f"migration {migration.version}_{migration.name} changed after it "
                "was applied; add a new migration instead of editing an old one"
            )
    return None


async def status(db: QuerySession) -> MigrationStatus:
    """Which shipped migrations this database has applied, lacks, or applied differently."""
    rows = await db.fetch_all("migrations_applied")
    done = {row["version"]: row["checksum"] for row in rows}
    known = {m.version: m.checksum for m in available()}
    return MigrationStatus(
        applied=done,
        pending=[v for v in known if v not in done],
        changed=[v for v, checksum in known.items() if v in done and done[v] != checksum],
        unknown=[v for v in done if v not in known],
    )
