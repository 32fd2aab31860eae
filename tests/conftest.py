"""Shared fixtures: a real PostgreSQL for every test, fast.

One server per session — the embedded default, or the server named by
`PROJECTS_IMPORT_TEST_ADMIN_URL` (a role that may create databases, e.g. the machine's
PostgreSQL 15 in CI). Migrations are applied once into a template database; every test gets
its own `CREATE DATABASE … TEMPLATE` copy.

With `PROJECTS_IMPORT_TEST_POOLER_URL` as well (a transaction-mode pooler such as PgBouncer in
front of that server, any database name), tests reach their databases through the pooler;
databases are still created, templated and dropped over the admin URL.

Lanes. Every test runs on the embedded server. The PostgreSQL 15 lanes of `scripts/test` (plain,
Supabase-shaped, through PgBouncer) run again only the tests marked `engine`: those whose
outcome may differ with the server, its roles or the pooler. A test is `engine` when
  - it lives in tests/migration or tests/supabase (migrations, schema snapshot, roles), or
  - it asks for the server itself as an argument (`pg_admin_url`, `pg_pooler_url`,
    `fresh_database`, `template_db`), or
  - its module says `pytestmark = pytest.mark.engine` (SQL functions, privileges, RLS,
    pg_cron, the pooler, advisory locks, dropped connections).
An unmarked test runs on the embedded lane only, so a new test is always run somewhere.

Parallel workers (pytest-xdist) are safe: each worker is its own session with its own embedded
server (or its own template database on a given server, named by its pid).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from psycopg import sql

from projects_import.db import embedded, migrations
from projects_import.db.connection import connection_options
from projects_import.settings import Settings
from tests.support import JWT_SECRET, LiveServer, create_tenant

ENGINE_FOLDERS = ("migration", "supabase")
ENGINE_FIXTURES = frozenset({"pg_admin_url", "pg_pooler_url", "fresh_database", "template_db"})


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--show-lanes", action="store_true",
                     help="after collecting, print each test's lane: engine or embedded")


def pytest_report_collectionfinish(config: pytest.Config,
                                   items: list[pytest.Item]) -> list[str]:
    if not config.getoption("--show-lanes"):
        return []
    return [f"lane {'engine' if item.get_closest_marker('engine') else 'embedded'} "
            f"{item.nodeid}" for item in items]


@pytest.hookimpl(tryfirst=True)  # before `-m` selects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the tests that depend on the database engine (the rule in this module's doc)."""
    tests = Path(__file__).resolve().parent
    for item in items:
        folder = item.path.resolve().relative_to(tests).parts[0]
        asked = set(getattr(getattr(item, "_fixtureinfo", None), "argnames", ()))
        if folder in ENGINE_FOLDERS or asked & ENGINE_FIXTURES:
            item.add_marker(pytest.mark.engine)


# Test clusters only: a crash loses a throwaway database, never a user's data.
NOT_DURABLE = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}


def not_durable(admin_url: str) -> None:
    """Turn durable writes off on the embedded test server (reloadable settings)."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        for name, value in NOT_DURABLE.items():
            conn.execute(sql.SQL("alter system set {} = {}").format(
                sql.Identifier(name), sql.Literal(value)))
        conn.execute("select pg_reload_conf()")


@pytest.fixture(scope="session")
def pg_admin_url() -> Iterator[str]:
    """A superuser-ish URI on the test server's `postgres` database."""
    given = os.environ.get("PROJECTS_IMPORT_TEST_ADMIN_URL")
    if given:
        yield given
        return
    # Not under pytest's basetemp: as root the server runs as its own system user, which
    # must be able to reach the data folder, and other pytest runs prune basetemps.
    home = Path(tempfile.mkdtemp(prefix="projects-import-test-"))
    try:
        uri = embedded.admin_uri(home)
        not_durable(uri)
        yield uri
    finally:
        embedded.stop_server(home)
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_pooler_url() -> str | None:
    """The transaction-mode pooler the tests' databases are reached through, if any."""
    return os.environ.get("PROJECTS_IMPORT_TEST_POOLER_URL") or None


def connect_options(url: str) -> dict[str, Any]:
    """psycopg options for a test's own connections (no prepared statements behind a pooler)."""
    return connection_options(url)[1]


TEMPLATE_LOCK = 0x7069_7465_6D70  # "pitemp": held while a worker builds its template


@pytest.fixture(scope="session")
def template_db(pg_admin_url: str) -> Iterator[str]:
    name = f"pi_template_{os.getpid()}"
    with psycopg.connect(pg_admin_url, autocommit=True) as conn:
        # Parallel workers on one server migrate one at a time: the migrations' own lock is
        # per database, and 0001 creates cluster-wide roles where they are missing.
        conn.execute("select pg_advisory_lock(%s)", (TEMPLATE_LOCK,))
        try:
            conn.execute(sql.SQL("drop database if exists {}").format(sql.Identifier(name)))
            conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
            migrations.migrate(embedded.with_database(pg_admin_url, name))
        finally:
            conn.execute("select pg_advisory_unlock(%s)", (TEMPLATE_LOCK,))
    yield name
    with psycopg.connect(pg_admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(
            sql.Identifier(name)))


@pytest.fixture
def fresh_database(pg_admin_url: str,
                   pg_pooler_url: str | None) -> Iterator[Callable[[str | None], str]]:
    """Factory: a new database (from `template`, or empty with None); dropped afterwards."""
    made: list[str] = []

    def make(template: str | None) -> str:
        name = f"pi_test_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(pg_admin_url, autocommit=True) as conn:
            stmt = sql.SQL("create database {}").format(sql.Identifier(name))
            if template:
                stmt = sql.SQL("create database {} template {}").format(
                    sql.Identifier(name), sql.Identifier(template))
            conn.execute(stmt)
        made.append(name)
        return embedded.with_database(pg_pooler_url or pg_admin_url, name)

    yield make
    with psycopg.connect(pg_admin_url, autocommit=True) as conn:
        for name in made:
            conn.execute(sql.SQL("drop database if exists {} with (force)").format(
                sql.Identifier(name)))


@pytest.fixture
def database_url(template_db: str, fresh_database: Callable[[str | None], str]) -> str:
    """A migrated database of this test's own."""
    return fresh_database(template_db)


@pytest.fixture
def db(database_url: str) -> Iterator[psycopg.Connection[Any]]:
    """An autocommit connection to the test database, for arranging and asserting."""
    from psycopg.rows import dict_row

    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row,
                         **connect_options(database_url)) as conn:
        yield conn


@pytest.fixture
def settings(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("PROJECTS_IMPORT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("JWT_SECRET", JWT_SECRET)
    for name in ("ANOMALIES_ALERT_WEBHOOK", "PROJECTS_IMPORT_MAX_BODY_BYTES",
                 "PROJECTS_IMPORT_MAX_ROWS", "PROJECTS_IMPORT_BEARER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PROJECTS_IMPORT_SCHEDULER", "false")
    return Settings()


@pytest.fixture
def make_server(database_url: str) -> Iterator[Callable[[Settings], LiveServer]]:
    """Factory for a live server with custom settings (e.g. a small body limit)."""
    servers: list[LiveServer] = []

    def make(custom: Settings) -> LiveServer:
        server = LiveServer(custom, database_url).start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def live_server(settings: Settings, make_server: Callable[[Settings], LiveServer]) -> LiveServer:
    return make_server(settings)


@pytest.fixture
def http(live_server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server.url, timeout=30) as client:
        yield client


@pytest.fixture
def tenant(database_url: str) -> tuple[str, str]:
    """(tenant_id, bearer secret) of tenant TELCO."""
    return "TELCO", create_tenant(database_url, "TELCO", "Australia/Adelaide")


@pytest.fixture
def directories(db: psycopg.Connection[Any], tenant: tuple[str, str]) -> None:
    """A small directory set for TELCO: one partner alias, two DSs (one inactive), one RM."""
    db.execute("insert into partner_normalization (tenant_id, alias, canonical) values "
               "('TELCO', 'Fulton Hogan', 'Fulton Hogan Pty Ltd'), "
               "('TELCO', 'Downer', 'Downer Group')")
    db.execute("insert into ds_directory (tenant_id, preferred_username, display_name, active) "
               "values ('TELCO', 'PREFERRED_USERNAME', 'Pat Doe', true), "
               "('TELCO', 'ds.second', 'Sam Roe', true), "
               "('TELCO', 'ds.gone', 'Gone Person', false)")
    db.execute("insert into rm_directory (tenant_id, preferred_username, display_name, active) "
               "values ('TELCO', 'flast', 'First Last', true), "
               "('TELCO', 'rm.second', 'Second Manager', true)")
