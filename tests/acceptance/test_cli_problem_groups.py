"""`projects-import problems groups|group-acknowledge|group-resolve` as an operator runs them:
real processes, real PostgreSQL, problems made by real imports through the service."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tests.support import batch, cli_env, project_row, run_cli


@pytest.fixture
def env(database_url: str, tmp_path: Path) -> dict[str, str]:
    return cli_env(tmp_path / "home", database_url)


def test_groups_listed_acknowledged_and_resolved(env: dict[str, str], http: httpx.Client,
                                                 tenant: tuple[str, str], db,
                                                 directories: None) -> None:
    rows = [project_row(f"P{i}", delivery_partner="Fulton Hogen") for i in range(1, 4)]
    rows.append(project_row("P4", relationship_manager="Jane Doh"))
    sent = http.post("/import-projects", json=batch(rows, batch_id="projects-day1-part-001"),
                     headers={"Authorization": f"Bearer {tenant[1]}"})
    assert sent.status_code == 200, sent.text

    listed = run_cli(env, "problems", "groups")
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].split()[:5] == ["tenant", "type", "unknown", "value", "problems"]
    fulton = next(line for line in lines if "Fulton Hogen" in line)
    assert fulton.split()[:6] == ["TELCO", "UNKNOWN_DELIVERY_PARTNER", "Fulton", "Hogen",
                                  "3", "3"]

    p2 = db.execute("select id from import_problems where project_key = 'P2'").fetchone()["id"]
    db.execute("select set_config('request.jwt.claims', "
               "'{\"sub\": \"op\", \"role\": \"authenticated\", "
               "\"app_metadata\": {\"role\": \"operator\"}}', false)")
    db.execute("select fn_problem_set_status(%s, 'resolved')", [p2])

    acked = run_cli(env, "problems", "group-acknowledge", "--tenant", "TELCO", "--type",
                    "unknown_delivery_partner", "--value", "Fulton Hogen", "--note", "asked")
    assert acked.returncode == 0, acked.stderr
    out = acked.stdout.splitlines()
    assert out[0] == "2 problem(s) acknowledged, 1 skipped"
    assert out[1].split() == ["problem", "project", "before", "now", "outcome", "why",
                              "skipped"]
    assert any("P2" in line and "already resolved" in line for line in out[2:])

    as_json = run_cli(env, "problems", "group-resolve", "--tenant", "TELCO", "--type",
                      "UNKNOWN_DELIVERY_PARTNER", "--value", "Fulton Hogen", "--json")
    assert as_json.returncode == 0, as_json.stderr
    answer = json.loads(as_json.stdout)
    assert (answer["changed"], answer["skipped"]) == (2, 1)
    left = json.loads(run_cli(env, "problems", "groups", "--json").stdout)
    assert [g["unknown_value"] for g in left["groups"]] == ["Jane Doh"]

    missing = run_cli(env, "problems", "group-resolve", "--tenant", "TELCO", "--type",
                      "UNKNOWN_RM", "--value", "Nobody")
    assert missing.returncode == 1 and missing.stderr.startswith("error: ")
    assert "Nobody" in missing.stderr
    bad = run_cli(env, "problems", "groups", "--type", "UNKNOWN_XX")
    assert bad.returncode == 1 and "--type must be one of" in bad.stderr
