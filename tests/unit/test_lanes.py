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


def lanes(*paths: str) -> dict[str, str]:
    """{test id: "engine" or "embedded"} as tests/conftest.py marks them (`--show-lanes`)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    done = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p",
                           "no:cacheprovider", "--show-lanes", *paths], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    shown = [line.split(" ", 2)[1:] for line in done.stdout.splitlines()
             if line.startswith("lane ")]
    return {test_id: lane for lane, test_id in shown}


def test_the_engine_rule_selects_by_folder_fixture_and_module_mark() -> None:
    found = lanes("tests/migration", "tests/supabase", "tests/integration/test_problems.py",
                  "tests/integration/test_problems_api.py", "tests/unit/test_lanes.py")
    by_file: dict[str, set[str]] = {}
    for test_id, lane in found.items():
        by_file.setdefault(test_id.split("::")[0], set()).add(lane)
    # every test of an engine folder, and of a module that says so
    for path, seen in by_file.items():
        if path.startswith(("tests/migration/", "tests/supabase/")):
            assert seen == {"engine"}, path
    assert by_file["tests/integration/test_problems.py"] == {"engine"}
    # an HTTP-only module is not engine
    assert by_file["tests/integration/test_problems_api.py"] == {"embedded"}
    # a test that asks for the server itself is
    this = "tests/unit/test_lanes.py::"
    assert found[this + "test_the_embedded_test_server_skips_durable_writes"] == "engine"
    assert found[this + "test_modules_that_reach_the_server_itself_are_engine"] == "embedded"


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
