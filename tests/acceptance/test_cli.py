"""The console script, as an operator runs it: real processes, real PostgreSQL."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from tests.support import (
    EXE,
    JWT_SECRET,
    batch,
    cli_env,
    project_row,
    run_cli,
    start_serve,
)


@pytest.fixture
def embedded_home() -> Iterator[Path]:
    """A folder for a CLI's own embedded server, outside pytest's basetemp: as root the server
    runs as a system user of its own that must reach the data folder, and any pytest session
    starting meanwhile on the machine resets the basetemp root to 0700."""
    folder = Path(tempfile.mkdtemp(prefix="projects-import-cli-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def env(database_url: str, tmp_path: Path) -> dict[str, str]:
    return cli_env(tmp_path / "home", database_url)


def assert_one_line_error(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    for needle in needles:
        assert needle in lines[0]


def test_migrate_is_idempotent(env) -> None:
    first = run_cli(env, "migrate")
    assert first.returncode == 0, first.stderr
    assert "migrations current" in first.stdout
    assert run_cli(env, "migrate").returncode == 0


def test_tenant_add_prints_the_secret_last_and_it_authenticates(env, live_server, db) -> None:
    result = run_cli(env, "tenant", "add", "ACME", "--timezone", "Australia/Adelaide")
    assert result.returncode == 0, result.stderr
    secret = result.stdout.strip().splitlines()[-1]
    assert secret.startswith("pit_")
    response = httpx.post(f"{live_server.url}/import-projects",
                          json=batch([project_row("STG-1")], tenant_id="ACME"),
                          headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 200, response.text
    assert db.execute("select timezone from tenants where tenant_id = 'ACME'"
                      ).fetchone()["timezone"] == "Australia/Adelaide"


def test_tenant_errors_are_one_clear_line(env) -> None:
    assert run_cli(env, "tenant", "add", "ACME").returncode == 0
    assert_one_line_error(run_cli(env, "tenant", "add", "ACME"), "already exists")
    assert_one_line_error(run_cli(env, "tenant", "add", "BAD ID"), "tenant id")
    assert_one_line_error(run_cli(env, "tenant", "add", "B", "--timezone", "Mars/Base"),
                          "time zone")
    assert_one_line_error(run_cli(env, "tenant", "rotate", "NOPE"), "no tenant NOPE")


def test_tenant_rotate_and_list(env, db) -> None:
    first = run_cli(env, "tenant", "add", "ACME").stdout.strip().splitlines()[-1]
    rotated = run_cli(env, "tenant", "rotate", "ACME")
    assert rotated.returncode == 0, rotated.stderr
    second = rotated.stdout.strip().splitlines()[-1]
    assert second.startswith("pit_") and second != first
    listing = run_cli(env, "tenant", "list")
    assert listing.returncode == 0
    assert any(line.split()[:3] == ["ACME", "UTC", "2"] for line in listing.stdout.splitlines())
    for secret in (first, second):
        assert secret not in listing.stdout


def test_directory_import_upserts_each_kind(env, db, tmp_path) -> None:
    run_cli(env, "tenant", "add", "TELCO")
    files = {
        "partners": "alias,canonical\nFulton Hogan,Fulton Hogan Pty Ltd\nFH,Fulton Hogan Pty Ltd\n",
        "ds": "preferred_username,display_name,active\njdoe,Jo Doe,true\nold,Old One,false\n",
        "rm": "display_name,preferred_username,active\nFirst Last,flast,yes\n",
    }
    for kind, text in files.items():
        path = tmp_path / f"{kind}.csv"
        path.write_text(text)
        result = run_cli(env, "directory", "import", kind, str(path), "--tenant", "TELCO")
        assert result.returncode == 0, result.stderr
    assert db.execute("select count(*) as n from partner_normalization").fetchone()["n"] == 2
    assert db.execute("select active from ds_directory where preferred_username = 'old'"
                      ).fetchone()["active"] is False
    (tmp_path / "rm.csv").write_text(
        "display_name,preferred_username,active\nFirst Last,flast,no\n")
    result = run_cli(env, "directory", "import", "rm", str(tmp_path / "rm.csv"),
                     "--tenant", "TELCO")
    assert "1 inserted or changed" in result.stdout
    assert db.execute("select active from rm_directory").fetchone()["active"] is False


def test_directory_import_errors(env, tmp_path) -> None:
    run_cli(env, "tenant", "add", "TELCO")
    bad = tmp_path / "bad.csv"
    bad.write_text("name,canonical\nx,y\n")
    assert_one_line_error(run_cli(env, "directory", "import", "partners", str(bad), "--tenant",
                              "TELCO"), "missing column", "alias")
    bad.write_text("preferred_username,display_name,active\njdoe,Jo,maybe\n")
    assert_one_line_error(run_cli(env, "directory", "import", "ds", str(bad), "--tenant", "TELCO"),
                          "line 2", "active")
    assert_one_line_error(run_cli(env, "directory", "import", "ds", str(tmp_path / "none.csv"),
                              "--tenant", "TELCO"), "cannot read")
    bad.write_text("preferred_username\njdoe\n")
    assert_one_line_error(run_cli(env, "directory", "import", "ds", str(bad), "--tenant", "NOPE"),
                          "no tenant NOPE")
    assert_one_line_error(run_cli(env, "directory", "import", "people", str(bad), "--tenant", "T"),
                          "partners, ds or rm")


def test_token_is_a_supabase_shaped_jwt(env) -> None:
    result = run_cli(env, "token", "--sub", "user-1", "--role", "operator", "--ttl", "600")
    assert result.returncode == 0, result.stderr
    claims: dict[str, Any] = jwt.decode(result.stdout.strip(), JWT_SECRET, algorithms=["HS256"],
                                        audience="authenticated")
    assert claims["sub"] == "user-1" and claims["role"] == "authenticated"
    assert claims["app_metadata"] == {"role": "operator"}
    assert 590 <= claims["exp"] - claims["iat"] <= 600
    assert_one_line_error(run_cli(env, "token", "--sub", "u", "--role", "root"), "unknown role")


def test_unreachable_database_is_one_clear_line(env) -> None:
    env = {**env, "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none?connect_timeout=2"}
    assert_one_line_error(run_cli(env, "migrate"), "cannot connect to the database")


# ---------------------------------------------------------------- the embedded default

@pytest.mark.slow
@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_every_verb_works_on_the_embedded_default(embedded_home, stop_signal) -> None:
    """No DATABASE_URL: the CLI starts a private server, uses it, and stops it again."""
    env = cli_env(embedded_home / "home")
    pgdata = embedded_home / "home" / "pgdata"

    assert run_cli(env, "migrate").returncode == 0
    assert (pgdata / "PG_VERSION").exists()
    assert not (pgdata / "postmaster.pid").exists(), "the server should stop after the verb"
    added = run_cli(env, "tenant", "add", "TELCO")
    assert added.returncode == 0, added.stderr
    secret = added.stdout.strip().splitlines()[-1]
    token = run_cli(env, "token", "--sub", "u1", "--role", "admin")
    assert token.returncode == 0 and (embedded_home / "home" / "jwt_secret").exists()

    server, url = start_serve(env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        rows = [project_row(f"STG-{i}") for i in range(3)]
        response = httpx.post(f"{url}/import-projects", json=batch(rows),
                              headers={"Authorization": f"Bearer {secret}"}, timeout=30)
        assert response.status_code == 200, response.text
        assert response.json()["metrics"]["inserted_projects"] == 3
        # a verb run while the server is up shares the same embedded database
        listing = run_cli(env, "tenant", "list")
        assert "TELCO" in listing.stdout
    finally:
        server.send_signal(stop_signal)
        out, err = server.communicate(timeout=30)
    assert server.returncode == 0, err
    assert url in out
    assert not (pgdata / "postmaster.pid").exists(), "serve should stop the embedded server"


def test_serve_refuses_a_plain_http_webhook_to_another_host(env) -> None:
    env = {**env, "ANOMALIES_ALERT_WEBHOOK": "http://alerts.example.com/hook"}
    assert_one_line_error(run_cli(env, "serve", "--port", "0"), "ANOMALIES_ALERT_WEBHOOK")


@pytest.mark.skipif(os.geteuid() != 0, reason="only root runs the server as another user")
def test_embedded_default_under_a_private_folder_as_root(embedded_home) -> None:
    """As root the server runs as a system user of its own, which must reach the data folder;
    folders above it get search permission only, never read (nothing private becomes listable)."""
    private = embedded_home / "private"
    private.mkdir(mode=0o700)
    env = cli_env(private / "home")
    result = run_cli(env, "migrate")
    assert result.returncode == 0, result.stderr
    assert (private.stat().st_mode & 0o777) == 0o711


@pytest.mark.parametrize("verb", [["migrate"], ["serve", "--port", "0"], ["tenant", "list"]])
def test_an_edited_migration_stops_every_verb_with_one_line(env, database_url, verb) -> None:
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("update projects_import_migrations set checksum = 'x' where version = '0003'")
    assert_one_line_error(run_cli(env, *verb), "0003_import_merge changed after it was applied")


@pytest.mark.slow
def test_a_killed_process_does_not_keep_the_embedded_server_alive(embedded_home) -> None:
    env = cli_env(embedded_home / "home")
    pgdata = embedded_home / "home" / "pgdata"
    server, _ = start_serve(env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server.kill()  # no chance to let go of its handle
    server.wait(timeout=10)
    assert (pgdata / "postmaster.pid").exists()
    assert run_cli(env, "tenant", "list").returncode == 0
    assert not (pgdata / "postmaster.pid").exists(), "the last live process should stop it"


def test_serve_with_a_taken_or_invalid_port_is_one_line(env) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli(env, "serve", "--port", str(port))
        assert_one_line_error(result, "cannot listen on 127.0.0.1")
        assert "listening" not in result.stdout
    result = run_cli(env, "serve", "--port", "99999")
    assert result.returncode == 2
    assert_one_line_error(result, "--port")


def test_grace_hours_out_of_range_is_one_line(env) -> None:
    assert run_cli(env, "tenant", "add", "ACME").returncode == 0
    for value in ("nan", "inf", "1e12", "-1"):
        result = run_cli(env, "tenant", "rotate", "ACME", "--grace-hours", value)
        assert_one_line_error(result, "--grace-hours")


@pytest.mark.slow
def test_parallel_verbs_on_a_fresh_embedded_home(embedded_home) -> None:
    """The first processes to start race to create the database; none may fail."""
    env = cli_env(embedded_home / "home")
    procs = [subprocess.Popen([EXE, "migrate"], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(4)]
    results = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], results
    assert not (embedded_home / "home" / "pgdata" / "postmaster.pid").exists()


@pytest.mark.parametrize(("variable", "value"), [
    ("PROJECTS_IMPORT_MAX_ROWS", "abc"),
    ("ANOMALIES_ALERT_WINDOW_HOURS", "0"),
    ("PROJECTS_IMPORT_POOLER", "bogus"),
])
def test_an_invalid_setting_is_one_line_naming_the_variable(env, variable, value) -> None:
    result = run_cli({**env, variable: value}, "tenant", "list")
    assert_one_line_error(result, "invalid configuration", variable)


@pytest.mark.parametrize(("kind", "text", "lines", "names"), [
    ("ds", "preferred_username,display_name,active\nann  smith,Ann,true\nbob,Bob,true\n"
           "Ann Smith,Ann S,true\n", "lines 2 and 4", ("'ann  smith'", "'Ann Smith'")),
    ("rm", "display_name,preferred_username,active\nAnn,ann\tsmith,true\nAnn 2,ANN SMITH,true\n",
     "lines 2 and 3", ("preferred_username",)),
    ("partners", "alias,canonical\nFulton  Hogan,FH Pty\nFULTON HOGAN,FH Pty\n",
     "lines 2 and 3", ("alias",)),
    ("ds", "preferred_username\njdoe\nJDOE\n", "lines 2 and 3", ("'jdoe'", "'JDOE'")),
])
def test_directory_import_refuses_rows_the_database_would_find_equal(
        env, db, tmp_path, kind, text, lines, names) -> None:
    """Two lines with the same key by fn_directory_key (case, inner whitespace) are one row
    to the database: the file is refused before any write, exit 2, naming both lines."""
    run_cli(env, "tenant", "add", "TELCO")
    path = tmp_path / f"{kind}.csv"
    path.write_text(text)
    result = run_cli(env, "directory", "import", kind, str(path), "--tenant", "TELCO")
    assert result.returncode == 2, result.stderr
    assert_one_line_error(result, lines, *names)
    assert "the database refused" not in result.stderr
    table = {"ds": "ds_directory", "rm": "rm_directory", "partners": "partner_normalization"}
    assert db.execute(f"select count(*) as n from {table[kind]}").fetchone()["n"] == 0
