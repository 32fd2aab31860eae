"""What every benchmark needs: the embedded server, a database, `serve` as a real process,
tenants with directories, the test rows and the statistics."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from projects_import.db import embedded, migrations  # noqa: E402
from projects_import.db.connection import Database  # noqa: E402
from projects_import.tenants import TenantStore  # noqa: E402

JWT_SECRET = "bench-jwt-secret-0123456789abcdef0123456789"
COLUMNS = ("stage_application", "delivery_partner", "developer_class", "relationship_manager",
           "deployment_specialist", "residential", "commercial", "essential",
           "stage_application_created")


def make_rows(n: int, *, offset: int = 0, bump: int = 0, pad: int = 0) -> list[dict[str, Any]]:
    """Contract rows; about 28 % miss a partner, DS or RM (so anomalies are written).

    `bump` changes the counts (a re-import that updates); `pad` adds an unknown field of that
    many characters (kept in the staged raw payload only), to reach a body size.
    """
    rows = [{
        "stage_application": f"STG-{i:012d}",
        "delivery_partner": "Fulton Hogan" if i % 7 else "Unknown Civil",
        "developer_class": "Class 2",
        "relationship_manager": "First Last" if i % 13 else "Nobody Known",
        "deployment_specialist": "PREFERRED_USERNAME" if i % 11 else "ghost",
        "residential": str(i % 50 + bump), "commercial": "5", "essential": "",
        "stage_application_created": "2025-04-01",
    } for i in range(offset, offset + n)]
    if pad:
        for row in rows:
            row["upstream_notes"] = "n" * pad
    return rows


def body(tenant_id: str, batch_id: str, rows: list[dict[str, Any]]) -> bytes:
    return json.dumps({"tenant_id": tenant_id, "source": "bench", "batch_id": batch_id,
                       "rows": rows}).encode()


@dataclass
class Samples:
    """Seconds per repetition of one measurement."""

    values: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def low(self) -> float:
        return min(self.values)

    @property
    def high(self) -> float:
        return max(self.values)


def timed(work: Callable[[], Any]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def descending_tenant_ids() -> Callable[[str], str]:
    """A source of tenant ids, each sorting before every earlier one (`kind` is appended).
    Every index leads with tenant_id, and a B-tree appends to its rightmost page faster than it
    inserts elsewhere: with ascending ids the newest tenant always takes that path, which a
    tenant among others in a real database does not (about 20 ms of a 5,000-row first import).
    With descending ids no step does."""
    taken = itertools.count()

    def new_tenant(kind: str = "") -> str:
        return f"T{9999 - next(taken):04d}{kind}"

    return new_tenant


class Cluster:
    """The embedded PostgreSQL server of one run, with one migrated database."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.admin = embedded.admin_uri(home / "embedded")
        self.name = f"bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(self.admin, autocommit=True) as conn:
            conn.execute(sql.SQL("create database {}").format(sql.Identifier(self.name)))
        self.url = embedded.with_database(self.admin, self.name)
        migrations.migrate(self.url)

    def connect(self, **kwargs: Any) -> psycopg.Connection[Any]:
        return psycopg.connect(self.url, **kwargs)

    def server_version(self) -> str:
        with self.connect() as conn:
            row = conn.execute("show server_version").fetchone()
            assert row is not None
            return str(row[0])

    def close(self) -> None:
        with psycopg.connect(self.admin, autocommit=True) as conn:
            conn.execute(sql.SQL("drop database if exists {} with (force)").format(
                sql.Identifier(self.name)))
        embedded.stop_server(self.home / "embedded")


def add_tenant(url: str, tenant_id: str) -> str:
    """A tenant with the directories the test rows resolve against; returns its secret."""
    async def add() -> str:
        async with Database(url, max_size=1) as database:
            return await TenantStore(database).add(tenant_id, "UTC")

    secret = asyncio.run(add())
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("insert into partner_normalization (tenant_id, alias, canonical) "
                     "values (%s, 'Fulton Hogan', 'Fulton Hogan Pty Ltd')", (tenant_id,))
        conn.execute("insert into ds_directory (tenant_id, preferred_username) "
                     "values (%s, 'PREFERRED_USERNAME')", (tenant_id,))
        conn.execute("insert into rm_directory (tenant_id, preferred_username, display_name) "
                     "values (%s, 'flast', 'First Last')", (tenant_id,))
    return secret


class Serve:
    """`projects-import serve` as its own process against the run's database."""

    def __init__(self, url: str, home: Path) -> None:
        env = {**os.environ, "DATABASE_URL": url, "PROJECTS_IMPORT_HOME": str(home),
               "JWT_SECRET": JWT_SECRET, "PROJECTS_IMPORT_SCHEDULER": "false"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "projects_import", "serve", "--port", "0"], env=env,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT)
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if "listening on" not in line:
            self.stop()
            raise RuntimeError(f"serve did not start: {line!r}")
        self.url = line.rsplit(" ", 1)[-1].strip()
        self.pid = self.process.pid
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError("serve did not answer /healthz")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@contextmanager
def serving(url: str, home: Path) -> Iterator[Serve]:
    server = Serve(url, home)
    try:
        yield server
    finally:
        server.stop()


def importer(server: Serve, secret: str) -> httpx.Client:
    return httpx.Client(base_url=server.url, timeout=300,
                        headers={"Authorization": f"Bearer {secret}",
                                 "Content-Type": "application/json"})


def post(client: httpx.Client, payload: bytes) -> dict[str, Any]:
    response = client.post("/import-projects", content=payload)
    if response.status_code != 200:
        raise RuntimeError(f"import answered {response.status_code}: {response.text[:300]}")
    result: dict[str, Any] = response.json()
    return result
