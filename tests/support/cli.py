"""The one CLI harness: the console script in a subprocess, with an environment cleaned of the
project's settings so each test says exactly which ones it sets."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from tests.support.http import JWT_SECRET, free_port

EXE = shutil.which("projects-import") or str(Path(sys.executable).parent / "projects-import")
_SETTINGS = ("PROJECTS_IMPORT_", "DATABASE_URL", "JWT_SECRET", "ANOMALIES_")


def cli_env(home: Path, database_url: str | None = None, **extra: str) -> dict[str, str]:
    """This process's environment without the project's settings, with PROJECTS_IMPORT_HOME
    at `home`; with a `database_url`, also DATABASE_URL and the tests' JWT_SECRET. No
    DATABASE_URL means the embedded default."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_SETTINGS)}
    env["PROJECTS_IMPORT_HOME"] = str(home)
    if database_url is not None:
        env.update(DATABASE_URL=database_url, JWT_SECRET=JWT_SECRET)
        if os.environ.get("PROJECTS_IMPORT_POOLER"):  # the lane behind a pooler
            env["PROJECTS_IMPORT_POOLER"] = os.environ["PROJECTS_IMPORT_POOLER"]
    env.update(extra)
    return env


def run_cli(env: dict[str, str], *args: str, stdin: str | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run `projects-import ARGS…` to the end; stdin is empty unless given."""
    return subprocess.run([EXE, *args], env=env, input=stdin, capture_output=True, text=True,
                          timeout=timeout, check=False,
                          stdin=None if stdin is not None else subprocess.DEVNULL)


def start_serve(env: dict[str, str], **streams: Any) -> tuple[subprocess.Popen[str], str]:
    """`projects-import serve` on a free port, once /readyz answers 200."""
    port = free_port()
    server = subprocess.Popen([EXE, "serve", "--port", str(port)], env=env, text=True,
                              **streams)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return server, url
        except httpx.TransportError:
            pass
        assert server.poll() is None, "serve exited before it was ready"
        assert time.monotonic() < deadline, "serve did not become ready"
        time.sleep(0.2)
