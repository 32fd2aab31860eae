"""Repeatable definitions: each function, view and policy defined in exactly one file under
`sql/definitions`, applied after the versioned migrations whenever its text changes."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from importlib import resources

import psycopg
import pytest
from psycopg.rows import dict_row

from projects_import.db import migrations, snapshot
from projects_import.db.connection import Database
from tests.migration.test_schema import RELEASED, is_supabase

DEFINITIONS = resources.files("projects_import") / "sql" / "definitions"
_CREATES = re.compile(r"\bcreate\s+(?:or\s+replace\s+)?(function|view|policy)\b"
                      r"|\b(?:grant|revoke)\b[^;]*?\bon\s+function\b", re.IGNORECASE)


@pytest.fixture
def migrated_url(fresh_database: Callable[[str | None], str]) -> str:
    url = fresh_database(None)
    migrations.migrate(url)
    return url


def status(url: str) -> migrations.MigrationStatus:
    async def read() -> migrations.MigrationStatus:
        async with Database(url, max_size=1) as db:
            return await migrations.status(db)
    return asyncio.run(read())


def catalog(url: str) -> tuple[set[str], set[str], set[tuple[str, str]]]:
    """Names of the public functions and views, and (table, policy) pairs, of a database."""
    with psycopg.connect(url) as conn:
        functions = {r[0] for r in conn.execute(
            "select p.proname from pg_proc p where p.pronamespace = 'public'::regnamespace"
            " and not exists (select 1 from pg_depend d where d.classid = 'pg_proc'::regclass"
            " and d.objid = p.oid and d.deptype = 'e')").fetchall()}
        views = {r[0] for r in conn.execute(
            "select relname from pg_class where relnamespace = 'public'::regnamespace"
            " and relkind in ('v', 'm')").fetchall()}
        policies = {(r[0], r[1]) for r in conn.execute(
            "select tablename, policyname from pg_policies where schemaname = 'public'")}
    return functions, views, policies


def test_every_definition_file_is_in_a_folder_the_runner_applies() -> None:
    folders = {entry.name for entry in DEFINITIONS.iterdir() if entry.is_dir()}
    assert folders == set(migrations.DEFINITION_FOLDERS)
    stray = [entry.name for entry in DEFINITIONS.iterdir() if entry.is_file()]
    assert stray == [], "definition files live in one of the folders the runner applies"


def test_each_function_view_and_policy_is_defined_in_exactly_one_file(database_url) -> None:
    """functions/<name>.sql holds every overload of <name>, views/<name>.sql the view,
    policies/<table>.sql the table's policies; no other file defines them."""
    functions, views, policies = catalog(database_url)
    where: dict[tuple[str, str], list[str]] = {}
    for definition in migrations.definitions():
        for kind, name in re.findall(
                r"create\s+or\s+replace\s+(function|view)\s+public\.(\w+)", definition.sql,
                re.IGNORECASE):
            where.setdefault((kind.lower(), name), []).append(definition.path)
        for name, table in re.findall(r"create\s+policy\s+(\w+)\s+on\s+public\.(\w+)",
                                      definition.sql, re.IGNORECASE):
            where.setdefault(("policy", f"{table}.{name}"), []).append(definition.path)
    wrong = []
    for name in functions:
        folder = "privileges" if name == "fn_privileges_set" else "functions"
        if set(where.get(("function", name), [])) != {f"{folder}/{name}.sql"}:
            wrong.append((name, where.get(("function", name))))
    for name in views:
        if where.get(("view", name)) != [f"views/{name}.sql"]:
            wrong.append((name, where.get(("view", name))))
    for table, name in policies:
        if where.get(("policy", f"{table}.{name}")) != [f"policies/{table}.sql"]:
            wrong.append((f"{table}.{name}", where.get(("policy", f"{table}.{name}"))))
    assert wrong == []
    defined = {key for key in where if key[0] != "policy"}
    assert defined == {("function", f) for f in functions} | {("view", v) for v in views}, \
        "a definition file names an object the database does not have"


def test_versioned_migrations_after_the_release_define_no_function_view_or_policy() -> None:
    """Since the definitions folder, a migration keeps tables, columns, indexes, data moves
    and drops; a function, view or policy (and a function's grants, which its definition file
    sets exactly and would undo) changes in its definition file."""
    last_release = max(RELEASED)
    assert _CREATES.search(next(m.sql for m in migrations.available() if m.version == "0033")), \
        "the pattern recognises a migration that defines functions"
    offenders = [f"{m.version}_{m.name}: {match.group(0)}"
                 for m in migrations.available() if m.version > last_release
                 for match in [_CREATES.search(m.sql)] if match]
    assert offenders == [], "move these definitions to sql/definitions (see sql/README.md)"


def test_new_migrations_sort_after_the_last_release() -> None:
    """The runner applies the first version missing from the ledger: a new 0013 would run
    last on an existing database and 13th on a fresh one. So a new version sorts after every
    released one, and the gaps of the released numbers are never filled."""
    last_release = max(RELEASED)
    early = [m.version for m in migrations.available()
             if m.version not in RELEASED and m.version <= last_release]
    assert early == [], (f"number new migrations after {last_release}, the last released one")


def test_a_changed_definition_is_pending_then_applied_alone(migrated_url) -> None:
    assert status(migrated_url).current
    with psycopg.connect(migrated_url, autocommit=True) as conn:
        conn.execute("update projects_import_migrations set checksum = 'older text'"
                     " where version = 'R:functions/fn_is_operator.sql'")
        conn.execute("create or replace function public.fn_is_operator() returns boolean"
                     " language sql stable as $$ select false $$")
    pending = status(migrated_url)
    assert pending.pending == ["R:functions/fn_is_operator.sql"]
    assert pending.changed == [] and pending.unknown == []
    assert migrations.migrate(migrated_url) == ["R:functions/fn_is_operator.sql"]
    assert status(migrated_url).current
    with psycopg.connect(migrated_url) as conn:
        source = conn.execute("select prosrc from pg_proc"
                              " where oid = 'public.fn_is_operator()'::regprocedure").fetchone()
    assert source is not None and "fn_jwt_app_role" in source[0]


def test_a_new_migration_applies_every_definition_again(migrated_url) -> None:
    """A migration may drop a view to change a column: after a new migration, every
    definition applies again (as if this database had them applied after an older one)."""
    older = sorted(RELEASED)[-2]
    with psycopg.connect(migrated_url, autocommit=True) as conn:
        conn.execute("drop view public.vw_tenant_freshness")
        for definition in migrations.definitions():
            conn.execute("update projects_import_migrations set checksum = %s"
                         " where version = %s", (definition.checksum(older), definition.version))
    assert migrations.migrate(migrated_url) == [d.version for d in migrations.definitions()]
    _, views, _ = catalog(migrated_url)
    assert "vw_tenant_freshness" in views
    # applied twice, every definition leaves the same catalog, privileges included
    with psycopg.connect(migrated_url, row_factory=dict_row) as conn:
        if not is_supabase(conn):  # whose auth schema is its own
            assert snapshot.dump(conn) == snapshot.committed()


def test_a_database_migrated_by_a_newer_version_keeps_its_definitions(migrated_url) -> None:
    with psycopg.connect(migrated_url, autocommit=True) as conn:
        conn.execute("insert into projects_import_migrations (version, name, checksum)"
                     " values ('9999', 'from_a_newer_version', 'x')")
        conn.execute("update projects_import_migrations set checksum = 'newer'"
                     " where version = 'R:functions/fn_is_operator.sql'")
    assert migrations.migrate(migrated_url) == []
    assert status(migrated_url).unknown == ["9999"]


# A function a reviewer reads in one screen: longer ones are split into named steps, and one
# short function says their order (see sql/README.md).
MAX_FUNCTION_LINES = 120
_FUNCTION = re.compile(
    r"create\s+or\s+replace\s+function\s+([\w.]+)\s*\(.*?\bas\s+(\$\w*\$)(.*?)\2",
    re.IGNORECASE | re.DOTALL)


def test_no_function_body_is_longer_than_the_limit() -> None:
    lengths = [(f"{definition.path}: {name}", body.strip("\n").count("\n") + 1)
               for definition in migrations.definitions()
               for name, _, body in _FUNCTION.findall(definition.sql)]
    declared = sum(len(re.findall(r"create\s+or\s+replace\s+function", definition.sql,
                                  re.IGNORECASE)) for definition in migrations.definitions())
    assert len(lengths) == declared, "every function's body is measured"
    too_long = [(name, lines) for name, lines in lengths if lines > MAX_FUNCTION_LINES]
    assert too_long == [], f"split these into named steps (limit {MAX_FUNCTION_LINES} lines)"
