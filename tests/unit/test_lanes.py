"""Which tests the PostgreSQL 15 lanes of scripts/test run again: the `engine` rule of
tests/conftest.py. Every test runs on the embedded lane; a test that depends on the server, its
roles or the pooler must also be marked `engine`, or the other lanes would never run it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

TESTS = Path(__file__).resolve().parents[1]
ROOT = TESTS.parent
# what only a test of the server, its roles or the pooler reads
ENGINE_HINTS = re.compile(r"PROJECTS_IMPORT_TEST_(ADMIN|POOLER|PGCRON)_URL|\bpg_admin_url\b"
                          r"|\bfresh_database\b|\bpg_pooler_url\b|\btemplate_db\b")


def collected(*args: str) -> tuple[int, list[str]]:
    """(exit code, test ids) of `pytest --collect-only ARGS`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    done = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p",
                           "no:cacheprovider", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120, check=False)
    return done.returncode, [line for line in done.stdout.splitlines() if "::" in line]


def test_the_engine_rule_selects_by_folder_fixture_and_module_mark() -> None:
    code, ids = collected("-m", "engine", "tests/migration", "tests/supabase",
                          "tests/integration/test_problems.py",
                          "tests/integration/test_problems_api.py")
    assert code == 0
    files = {test_id.split("::")[0] for test_id in ids}
    # folders, and a module that says so; an HTTP-only module is not engine
    assert {"tests/migration/test_migrations.py", "tests/supabase/test_postgrest_roles.py",
            "tests/integration/test_problems.py"} <= files
    assert "tests/integration/test_problems_api.py" not in files
    # every test of an engine folder is selected
    code, ids = collected("-m", "not engine", "tests/migration", "tests/supabase")
    assert (code, ids) == (5, [])


def test_modules_that_reach_the_server_itself_are_engine() -> None:
    """A module that reads the lanes' URLs or asks for the server fixtures is marked (or lives
    in an engine folder); conftest.py defines them and is exempt."""
    unmarked = []
    for path in sorted(TESTS.rglob("test_*.py")):
        relative = path.relative_to(TESTS)
        text = path.read_text()
        if relative.parts[0] in ("migration", "supabase") or path == Path(__file__):
            continue
        if ENGINE_HINTS.search(text) and "pytest.mark.engine" not in text:
            unmarked.append(str(relative))
    assert unmarked == []


@pytest.mark.skipif(bool(os.environ.get("PROJECTS_IMPORT_TEST_ADMIN_URL")),
                    reason="a given server is configured by whoever started it")
def test_the_embedded_test_server_skips_durable_writes(pg_admin_url: str) -> None:
    with psycopg.connect(pg_admin_url) as conn:
        settings = dict(conn.execute(
            "select name, setting from pg_settings where name = any(%s)",
            (["fsync", "synchronous_commit", "full_page_writes"],)).fetchall())
    assert settings == {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
