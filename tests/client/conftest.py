"""Fixtures for the upstream client's tests: export files, the fault server, the CLI."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from projects_import.cli import app
from tests.client.fault_server import FaultServer
from tests.support import project_row

COLUMNS = ("stage_application", "delivery_partner", "developer_class", "relationship_manager",
           "deployment_specialist", "residential", "commercial", "essential",
           "stage_application_created")
FAST = ("--backoff-base", "0.01", "--min-interval", "0")


def rows(count: int, start: int = 0, **overrides: Any) -> list[dict[str, Any]]:
    return [project_row(f"STG-{i:012d}", **overrides) for i in range(start, start + count)]


def write_csv(path: Path, data: list[dict[str, Any]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(data)
    return path


def write_json(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


@pytest.fixture
def fault_server() -> Iterator[FaultServer]:
    server = FaultServer().start()
    yield server
    server.stop()


@pytest.fixture
def send_cli() -> Callable[..., Result]:
    """Run `projects-import send ARGS` in-process with a bearer in the environment."""
    def invoke(*args: str, bearer: str = "pit_0000000000000000.test-secret-xxxxxxxxxx",
               env: dict[str, str] | None = None) -> Result:
        return CliRunner().invoke(app, ["send", *args],
                                  env={"PROJECTS_IMPORT_BEARER": bearer, **(env or {})})
    return invoke
