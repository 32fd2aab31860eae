"""`projects-import user add|list|remove` through the real console script (SPEC §3)."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import subprocess
import termios
import time
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher

from tests.support import EXE, cli_env, run_cli

PASSWORD = "correct horse battery"


@pytest.fixture
def env(database_url: str, tmp_path: Path) -> dict[str, str]:
    return cli_env(tmp_path / "home", database_url)


def users(db: Any) -> list[dict[str, Any]]:
    return db.execute("select email, role, password_hash from dashboard_users "
                      "order by email").fetchall()


def test_user_add_reads_the_password_from_stdin_and_stores_only_a_hash(env, db) -> None:
    result = run_cli(env, "user", "add", " Ops@Example.COM ", "--role", "operator",
                 "--password-stdin", stdin=PASSWORD + "\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "created dashboard user ops@example.com (operator)"
    [row] = users(db)
    assert row["email"] == "ops@example.com" and row["role"] == "operator"
    assert row["password_hash"].startswith("$argon2id$")
    assert PASSWORD not in row["password_hash"]
    assert PasswordHasher().verify(row["password_hash"], PASSWORD)  # newline not included

    listed = run_cli(env, "user", "list")
    assert listed.returncode == 0
    assert listed.stdout.split() == ["email", "role", "lock", "ops@example.com", "operator"]


@pytest.mark.parametrize(("args", "stdin", "message"), [
    (["--role", "operator", "--password-stdin"], "short pass\n",
     "error: the password is too short: use at least 12 characters"),
    (["--role", "Super User", "--password-stdin"], PASSWORD,
     "error: invalid role 'Super User': 1-32 lower-case letters, digits, '_', '.' or '-', "
     "such as operator, admin, viewer"),
    (["--role", "operator"], None,
     "error: no terminal to prompt for the password; pipe it in with --password-stdin"),
])
def test_user_add_refuses_bad_input_in_one_line(env, db, args, stdin, message) -> None:
    result = run_cli(env, "user", "add", "ops@example.com", *args, stdin=stdin)
    assert result.returncode != 0
    assert result.stderr.strip() == message
    assert "Traceback" not in result.stderr
    assert users(db) == []


def test_an_existing_email_is_refused_unless_updated(env, db) -> None:
    assert run_cli(env, "user", "add", "ops@example.com", "--role", "viewer",
               "--password-stdin", stdin=PASSWORD).returncode == 0
    db.execute("insert into dashboard_sessions (token_sha256, email, expires_at) "
               "values (sha256('t'::bytea), 'ops@example.com', now() + interval '1 hour')")
    again = run_cli(env, "user", "add", "OPS@example.com", "--role", "operator",
                "--password-stdin", stdin="another password here")
    assert again.returncode == 1
    assert again.stderr.strip() == ("error: dashboard user ops@example.com already exists; "
                                    "pass --update to change its password and role")
    assert users(db)[0]["role"] == "viewer"

    updated = run_cli(env, "user", "add", "ops@example.com", "--role", "operator", "--update",
                  "--password-stdin", stdin="another password here")
    assert updated.returncode == 0, updated.stderr
    assert updated.stdout.strip() == "updated dashboard user ops@example.com (operator)"
    [row] = users(db)
    assert row["role"] == "operator"
    assert PasswordHasher().verify(row["password_hash"], "another password here")
    assert db.execute("select count(*) as n from dashboard_sessions").fetchone()["n"] == 0

    removed = run_cli(env, "user", "remove", "ops@example.com")
    assert removed.returncode == 0 and users(db) == []
    missing = run_cli(env, "user", "remove", "ops@example.com")
    assert missing.returncode == 1
    assert missing.stderr.strip() == "error: no dashboard user ops@example.com"


def _attach_terminal() -> None:
    """In the child: a new session whose controlling terminal is stdin (the pty)."""
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def test_user_add_prompts_for_the_password_on_a_terminal(env, db) -> None:
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [EXE, "user", "add", "admin@example.com", "--role", "admin"], stdin=follower,
        stdout=follower, stderr=follower, env=env, preexec_fn=_attach_terminal)
    os.close(follower)
    output = b""

    def read_until(text: bytes, deadline: float) -> None:
        nonlocal output
        while text not in output:
            remaining = deadline - time.monotonic()
            assert remaining > 0, output
            if select.select([leader], [], [], remaining)[0]:
                try:
                    output += os.read(leader, 1024)
                except OSError:  # the child closed the terminal
                    break
        assert text in output, output

    # getpass turns echo off (and flushes input) before it writes the prompt's last space:
    # answer only after that space, or the answer is discarded.
    deadline = time.monotonic() + 30
    try:
        read_until(b"Password: ", deadline)
        os.write(leader, PASSWORD.encode() + b"\n")
        read_until(b"Repeat for confirmation: ", deadline)
        os.write(leader, PASSWORD.encode() + b"\n")
        read_until(b"created dashboard user", deadline)
        assert process.wait(timeout=30) == 0
    finally:
        process.kill()
        process.wait()
        os.close(leader)
    assert PASSWORD.encode() not in output  # the prompt does not echo
    [row] = users(db)
    assert row["email"] == "admin@example.com" and row["role"] == "admin"
    assert PasswordHasher().verify(row["password_hash"], PASSWORD)
