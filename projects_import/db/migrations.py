"""Apply the SQL under `projects_import/sql`: versioned migrations once each, in order, then the
repeatable definitions (functions, views, policies) whenever their text changed.

`sql/migrations/NNNN_name.sql` hold tables, columns, indexes, data moves and one-off changes;
each is applied once and never edited after release. `sql/definitions/<folder>/<file>.sql`
each hold the current definition of functions, a view or a table's policies, with their
privileges; they are applied after the versioned migrations, in `DEFINITION_FOLDERS` order and
by file name within a folder, all pending ones in one transaction, so the catalog moves from
one release's definitions to the next at once. (Flyway's versioned and repeatable scripts.)

Safe to run twice and from several processes at once: each step runs in its own transaction,
which first takes a transaction-scoped advisory lock and reads the ledger again, and is
recorded there with its checksum (a definition as version `R:<folder>/<file>`). No session
state is used, so this works through a transaction-mode pooler as well as over the direct
connection.
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

# The order definitions are applied in: the privileges helper every file calls, functions
# (bodies are not checked against each other while they are created), then the views and
# policies that call them.
DEFINITION_FOLDERS = ("privileges", "functions", "views", "policies")
DEFINITION_PREFIX = "R:"


@dataclass(frozen=True)
class Migration:
    version: str
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


@dataclass(frozen=True)
class Definition:
    """One repeatable definition file, `<folder>/<file>.sql`."""

    path: str
    sql: str

    @property
    def version(self) -> str:
        return DEFINITION_PREFIX + self.path

    def checksum(self, after: str) -> str:
        """Of its text and of the last versioned migration it is applied after: a new
        migration (which may have dropped a view to change a column) re-applies every
        definition."""
        return hashlib.sha256(f"{after}\n{self.sql}".encode()).hexdigest()


class MigrationError(ProjectsImportError):
    """A migration cannot be applied, or one changed after it was applied."""

    code = "migration_error"
    http_status = 503


@dataclass(frozen=True)
class MigrationStatus:
    """This database's ledger against the migrations and definitions this version ships."""

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


def definitions() -> list[Definition]:
    """The repeatable definitions in the order they are applied."""
    root = resources.files("projects_import") / "sql" / "definitions"
    found = []
    for folder in DEFINITION_FOLDERS:
        files = sorted((e for e in (root / folder).iterdir() if e.name.endswith(".sql")),
                       key=lambda e: e.name)
        found += [Definition(f"{folder}/{e.name}", e.read_text()) for e in files]
    return found


def applied(conn: psycopg.Connection) -> dict[str, str]:
    """version → checksum of what this database has applied (empty when never migrated)."""
    exists = conn.execute(
        "select to_regclass('public.projects_import_migrations') is not null"
    ).fetchone()
    if not exists or not exists[0]:
        return {}
    rows = conn.execute("select version, checksum from public.projects_import_migrations")
    return {version: checksum for version, checksum in rows.fetchall()}


def _versioned(done: dict[str, str]) -> dict[str, str]:
    return {v: c for v, c in done.items() if not v.startswith(DEFINITION_PREFIX)}


def applied_versions(database_url: str) -> list[str]:
    """The versioned migrations this database has applied."""
    url, options = connection_options(database_url)
    with psycopg.connect(url, **options) as conn:
        return sorted(_versioned(applied(conn)))


def migrate(database_url: str) -> list[str]:
    """Apply pending migrations, then changed definitions; returns what this call applied."""
    names: list[str] = []
    url, options = connection_options(database_url)
    with psycopg.connect(url, autocommit=True, **options) as conn:
        while True:
            with conn.transaction():
                conn.execute("select pg_advisory_xact_lock(%s, %s)", MIGRATIONS_LOCK)
                conn.execute(_TABLE_DDL)
                migration = _next_pending(applied(conn))
                if migration is None:
                    break
                conn.execute(migration.sql.encode())
                conn.execute(
                    "insert into public.projects_import_migrations (version, name, checksum)"
                    " values (%s, %s, %s)",
                    (migration.version, migration.name, migration.checksum),
                )
            names.append(f"{migration.version}_{migration.name}")
        with conn.transaction():
            conn.execute("select pg_advisory_xact_lock(%s, %s)", MIGRATIONS_LOCK)
            names += _apply_definitions(conn, applied(conn))
    return names


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


def _head() -> str:
    """The last versioned migration this version ships."""
    shipped = available()
    return shipped[-1].version if shipped else ""


def _apply_definitions(conn: psycopg.Connection, done: dict[str, str]) -> list[str]:
    """Apply every definition whose text changed (all of them in this transaction). A
    database migrated by a newer version (a versioned migration unknown here) is left alone:
    this version's definitions would undo the newer ones."""
    known = {m.version for m in available()}
    if any(v not in known for v in _versioned(done)):
        return []
    head = _head()
    shipped = definitions()
    conn.execute("delete from public.projects_import_migrations"  # a file removed since
                 " where version like 'R:%%' and version <> all(%s)",
                 ([d.version for d in shipped],))
    pending = [d for d in shipped if done.get(d.version) != d.checksum(head)]
    if not pending:
        return []
    # Function bodies may call functions defined in a later file: check them when they run.
    conn.execute("set local check_function_bodies = off")
    for definition in pending:
        conn.execute(definition.sql.encode())
        conn.execute(
            "insert into public.projects_import_migrations (version, name, checksum)"
            " values (%s, %s, %s) on conflict (version) do update"
            " set checksum = excluded.checksum, applied_at = now()",
            (definition.version, definition.path, definition.checksum(head)),
        )
    return [definition.version for definition in pending]


async def status(db: QuerySession) -> MigrationStatus:
    """Which shipped migrations this database has applied, lacks, or applied differently; a
    definition not applied yet, or whose text changed since, is pending (not an error)."""
    rows = await db.fetch_all("migrations_applied")
    done = {row["version"]: row["checksum"] for row in rows}
    versioned = _versioned(done)
    known = {m.version: m.checksum for m in available()}
    head = _head()
    return MigrationStatus(
        applied=versioned,
        pending=[v for v in known if v not in versioned]
        + [d.version for d in definitions() if done.get(d.version) != d.checksum(head)],
        changed=[v for v, checksum in known.items()
                 if v in versioned and versioned[v] != checksum],
        unknown=[v for v in versioned if v not in known],
    )
