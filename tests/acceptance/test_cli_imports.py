"""`projects-import imports list|show` as an operator runs them: real processes, real
PostgreSQL, history made by real imports through the service."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support import batch, cli_env, project_row, run_cli


@pytest.fixture
def env(database_url: str, tmp_path: Path) -> dict[str, str]:
    return cli_env(tmp_path / "home", database_url)


run = run_cli


def _imports(http: httpx.Client, secret: str) -> None:
    auth = {"Authorization": f"Bearer {secret}"}
    ok = http.post("/import-projects", json=batch([project_row("STG-1")],
                                                  batch_id="nightly-2025-08-18"), headers=auth)
    assert ok.status_code == 200, ok.text
    bad = http.post("/import-projects", json=batch([project_row("")], batch_id="nightly-bad"),
                    headers=auth)
    assert bad.status_code == 422


def test_imports_list_and_show(env: dict[str, str], http: httpx.Client,
                               tenant: tuple[str, str], directories: None) -> None:
    _imports(http, tenant[1])

    listed = run(env, "imports", "list")
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].split()[:4] == ["id", "received", "(UTC)", "tenant"]
    assert "nightly-bad contract_violation" in lines[1] and " 422 " in lines[1]
    assert "nightly-2025-08-18" in lines[2] and " 200 " in lines[2]

    as_json = run(env, "imports", "list", "--tenant", "TELCO", "--json")
    assert as_json.returncode == 0, as_json.stderr
    body: dict[str, Any] = json.loads(as_json.stdout)
    assert body["next_cursor"] is None
    assert [r["request_batch_id"] for r in body["imports"]] == ["nightly-bad",
                                                                "nightly-2025-08-18"]
    merged = body["imports"][1]
    assert merged["inserted_projects"] == 1 and merged["status"] == 200

    assert json.loads(run(env, "imports", "list", "--tenant", "NOBODY", "--json").stdout
                      )["imports"] == []
    assert "no import requests" in run(env, "imports", "list", "--status", "500").stdout

    shown = run(env, "imports", "show", str(merged["id"]))
    assert shown.returncode == 0, shown.stderr
    assert "request_batch_id: nightly-2025-08-18" in shown.stdout
    assert "  inserted_projects: 1" in shown.stdout  # the staged metrics
    assert "reruns: 0" in shown.stdout

    rejected = run(env, "imports", "show", str(body["imports"][0]["id"]), "--json")
    detail = json.loads(rejected.stdout)
    assert detail["violations_summary"]["by_code"] == {"required": 1}
    assert detail["staged_metrics"] is None

    missing = run(env, "imports", "show", "987654")
    assert missing.returncode == 1
    assert missing.stderr.strip() == "error: no import request with id 987654"
    bad = run(env, "imports", "list", "--status", "42")
    assert bad.returncode == 2 and "status" in bad.stderr


def test_tenant_pause_resume_and_list(env: dict[str, str], http: httpx.Client,
                                      tenant: tuple[str, str], directories: None) -> None:
    auth = {"Authorization": f"Bearer {tenant[1]}"}
    assert http.post("/import-projects", json=batch([project_row("STG-1")]),
                     headers=auth).status_code == 200

    listed = run(env, "tenant", "list")
    assert listed.returncode == 0, listed.stderr
    header, telco = listed.stdout.splitlines()
    assert header.split()[:8] == ["tenant", "timezone", "secrets", "last", "success", "(UTC)",
                                  "late", "paused"]
    assert telco.split()[:3] == ["TELCO", "Australia/Adelaide", "1"]
    assert telco.split()[-2:] == ["no", "no"]

    paused = run(env, "tenant", "pause", "TELCO", "--reason", "bad export, ticket 12")
    assert paused.returncode == 0, paused.stderr
    assert paused.stdout.startswith("tenant TELCO paused since ")
    assert paused.stdout.rstrip().endswith(": bad export, ticket 12")
    answer = http.post("/import-projects", json=batch([project_row("STG-2")], batch_id="x"),
                       headers=auth)
    assert answer.status_code == 423
    assert "bad export, ticket 12" in answer.json()["error"]["message"]
    assert run(env, "tenant", "pause", "TELCO", "--reason", "again").stdout.startswith(
        "tenant TELCO was already paused")
    assert "since" in run(env, "tenant", "list").stdout.splitlines()[1]

    blank = run(env, "tenant", "pause", "TELCO", "--reason", " ")
    assert blank.returncode == 1 and blank.stderr.strip() == "error: --reason must not be blank"
    missing = run(env, "tenant", "pause", "NOPE", "--reason", "why")
    assert missing.returncode == 1
    assert missing.stderr.strip() == "error: no tenant NOPE; create it with `tenant add`"
    assert run(env, "tenant", "pause", "TELCO").returncode == 2  # --reason is required

    resumed = run(env, "tenant", "resume", "TELCO")
    assert resumed.returncode == 0 and resumed.stdout.strip() == "tenant TELCO resumed"
    assert run(env, "tenant", "resume", "TELCO").stdout.strip() == "tenant TELCO was not paused"
    assert http.post("/import-projects", json=batch([project_row("STG-2")], batch_id="x"),
                     headers=auth).status_code == 200
