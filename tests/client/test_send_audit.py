"""`send` and the audit (SPEC §10) against the real service: `--dry-run` previews every part of
a 20,000-row file and stages nothing; a held part is reported as "held for review", exits 4
and stops the send; `tenant audit` and `imports publish|reject` from the command line."""

from __future__ import annotations

import json
import re

from tests.client.conftest import rows, write_csv
from tests.support import cli_env, run_cli


def test_dry_run_of_20000_rows_prints_the_plan_for_every_part(
        live_server, tenant, directories, db, database_url, tmp_path) -> None:
    _, secret = tenant
    env = cli_env(tmp_path / "home", database_url, PROJECTS_IMPORT_BEARER=secret)
    base = ["--url", live_server.url, "--tenant", "TELCO", "--min-interval", "0"]
    existing = write_csv(tmp_path / "day-1.csv", rows(5000))
    assert run_cli(env, "send", str(existing), *base, timeout=120).returncode == 0
    counts = db.execute("select (select count(*) from projects) as p, "
                        "(select count(*) from staging_imports) as s, "
                        "(select count(*) from vw_project_members) as m").fetchone()

    # 20,000 rows: the first 5,000 existing ones with every RM blank, 15,000 new ones
    export = rows(5000, relationship_manager="") + rows(15_000, start=5000)
    file = write_csv(tmp_path / "day-2.csv", export)
    result = run_cli(env, "send", str(file), *base, "--dry-run", timeout=300)
    assert result.returncode == 4, result.stdout + result.stderr  # the preview holds part 1
    lines = result.stdout.splitlines()
    parts = [line for line in lines if re.search(r"part [0-9]/4 .*: dry run \(200\)", line)]
    assert len(parts) == 4, result.stdout
    assert "would insert 0, update 5000" in parts[0] and "end 5000 membership(s)" in parts[0]
    assert "would be HELD for review" in parts[0] and "max_ended_share" in parts[0]
    assert all("would insert 5000" in line and "would be published" in line
               for line in parts[1:])
    verdict = lines[-1]
    assert verdict.startswith("result: DRY RUN (nothing staged or merged): 4 part(s), "
                              "20000 rows would insert 15000, update 5000")
    assert "parts 1 would be HELD for review" in verdict
    assert db.execute("select (select count(*) from projects) as p, "
                      "(select count(*) from staging_imports) as s, "
                      "(select count(*) from vw_project_members) as m").fetchone() == counts


def test_a_held_part_exits_4_and_stops_the_send_then_cli_decides(
        live_server, tenant, directories, db, database_url, tmp_path) -> None:
    _, secret = tenant
    env = cli_env(tmp_path / "home", database_url, PROJECTS_IMPORT_BEARER=secret)
    base = ["--url", live_server.url, "--tenant", "TELCO", "--min-interval", "0",
            "--max-rows", "200"]
    assert run_cli(env, "send", str(write_csv(tmp_path / "a.csv", rows(400))), *base,
                   timeout=120).returncode == 0

    audit = run_cli(env, "tenant", "audit", "TELCO", "--max-changed-share", "0.9",
                    "--min-rows", "150")
    assert audit.returncode == 0, audit.stderr
    assert audit.stdout.strip() == ("tenant TELCO audit on: max_ended_share 0.2, "
                                    "max_anomaly_share 0.5, max_changed_share 0.9, min_rows 150")
    bad = run_cli(env, "tenant", "audit", "TELCO", "--off", "--on")
    assert bad.returncode != 0 and "exclude" in bad.stderr

    shifted = write_csv(tmp_path / "b.csv", rows(400, relationship_manager=""))
    result = run_cli(env, "send", str(shifted), *base, timeout=120)
    assert result.returncode == 4, result.stdout + result.stderr
    assert "rows 1-200: held for review (202" in result.stdout
    assert "Parts accepted: none; not sent: 2." in result.stdout
    assert "result: HELD FOR REVIEW: part 1" in result.stdout
    assert db.execute("select count(*) as n from staging_imports").fetchone()["n"] == 3

    listed = run_cli(env, "imports", "list", "--batch-state", "held", "--json")
    held = json.loads(listed.stdout)["imports"]
    assert len(held) == 1 and held[0]["status"] == 202
    rejected = run_cli(env, "imports", "reject", str(held[0]["id"]), "--reason",
                       "RM column empty")
    assert rejected.returncode == 0, rejected.stderr
    assert "rejected: RM column empty" in rejected.stdout
    again = run_cli(env, "imports", "publish", str(held[0]["id"]))
    assert again.returncode != 0 and "rejected, not held" in again.stderr
    shown = run_cli(env, "imports", "show", str(held[0]["id"]))
    assert "batch_state: rejected" in shown.stdout
    assert "rejected by projects-import-cli: RM column empty" in shown.stdout

    resent = run_cli(env, "send", str(shifted), *base, timeout=120)
    assert resent.returncode == 2 and "batch_rejected" in resent.stdout

    assert run_cli(env, "tenant", "audit", "TELCO", "--off").returncode == 0
    other = write_csv(tmp_path / "c.csv", rows(400, relationship_manager="Second Manager"))
    assert run_cli(env, "send", str(other), *base, timeout=120).returncode == 0
