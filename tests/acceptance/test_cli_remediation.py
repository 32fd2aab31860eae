"""The operations verbs through the real console script: backfill, rerun, cleanup, verify,
smoke."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from projects_import.imports.contract import derive_uuid
from tests.support import batch, cli_env, project_row, run_cli, submit

Cli = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def cli(database_url: str, tmp_path: Path) -> Cli:
    env = cli_env(tmp_path / "home", database_url)
    return lambda *args: run_cli(env, *args)


def counts(stdout: str) -> dict[str, str]:
    """`  name: value` lines of a verb's human output."""
    pairs = (line.strip().split(": ", 1) for line in stdout.splitlines()
             if line.startswith("  ") and ": " in line)
    return {name: value for name, value in pairs}


def test_backfill_prints_its_counts(cli, db, database_url, tenant, directories) -> None:
    submit(database_url, batch([project_row("STG-1", deployment_specialist="ds.new")]))
    db.execute("insert into ds_directory (tenant_id, preferred_username) "
               "values ('TELCO', 'ds.new')")

    done = cli("backfill")
    assert done.returncode == 0, done.stderr
    printed = counts(done.stdout)
    assert printed["user_memberships_added"] == "1"
    assert printed["anomalies_resolved"] == "1"
    assert printed["projects_updated"] == "1"

    again = cli("backfill", "--json")
    assert again.returncode == 0, again.stderr
    assert set(json.loads(again.stdout).values()) == {0}

    unknown = cli("backfill", "--tenant", "NOPE")
    assert unknown.returncode == 1
    assert unknown.stderr.strip() == "error: unknown tenant NOPE"


def test_rerun_after_directory_fix_resolves_anomalies(
        cli, db, database_url, tenant, directories) -> None:
    upstream_id = "2025-08-18T17:00:00+0930-batch-001"
    submit(database_url, batch([project_row("STG-1", deployment_specialist="ds.new",
                                            delivery_partner="New Partner"),
                                project_row("STG-2")], batch_id=upstream_id))
    db.execute("insert into ds_directory (tenant_id, preferred_username) "
               "values ('TELCO', 'ds.new')")

    done = cli("rerun", "--batch", upstream_id, "--tenant", "TELCO")
    assert done.returncode == 0, done.stderr
    batch_id = derive_uuid("TELCO", upstream_id)
    assert f"re-merged batch {batch_id} for tenant TELCO" in done.stdout
    printed = counts(done.stdout)
    assert printed["anomalies_resolved"] == "1"
    assert printed["anomalies_count"] == "1"
    assert printed["updated_projects"] == "1"
    assert printed["user_memberships_upserted"] == "1"

    statuses = db.execute("select anomaly_type, status from import_anomalies "
                          "order by anomaly_type").fetchall()
    assert [(r["anomaly_type"], r["status"]) for r in statuses] == [
        ("UNKNOWN_DELIVERY_PARTNER", "open"), ("UNKNOWN_DS", "resolved")]
    member = db.execute("select 1 from vw_project_members where project_key = 'STG-1' "
                        "and member = 'ds.new'").fetchone()
    assert member is not None

    by_uuid = cli("rerun", "--batch", str(batch_id), "--tenant", "TELCO", "--json")
    assert by_uuid.returncode == 0, by_uuid.stderr
    metrics = json.loads(by_uuid.stdout)
    assert metrics["unchanged_projects"] == 2
    assert metrics["anomalies_resolved"] == 0

    missing = cli("rerun", "--batch", "no-such-batch", "--tenant", "TELCO")
    assert missing.returncode == 1
    assert missing.stderr.startswith("error: no staged batch")
    assert len(missing.stderr.strip().splitlines()) == 1


def test_cleanup_prints_counts(cli, db, tenant) -> None:
    db.execute(
        "insert into staging_imports (tenant_id, batch_id, source, raw, batch_checksum, "
        "row_count, correlation_id, created_at) "
        "select 'TELCO', gen_random_uuid(), 'test', '{}', md5(i || '-' || d), 1, "
        "gen_random_uuid(), "
        "now() - make_interval(days => d) from generate_series(1, 3) i, (values (50), (70)) v(d)")

    default = cli("cleanup", "--json")
    assert default.returncode == 0, default.stderr
    assert json.loads(default.stdout) == {"staging_imports_deleted": 3,
                                          "import_anomalies_deleted": 0,
                                          "chunks": 1, "complete": True}

    override = cli("cleanup", "--imports-days", "45", "--anomalies-days", "75",
                   "--chunk-size", "2")
    assert override.returncode == 0, override.stderr
    assert "imports 45 d, anomalies 75 d" in override.stdout
    assert counts(override.stdout)["staging_imports_deleted"] == "3"
    assert counts(override.stdout)["chunks"] == "2"
    stats = db.execute("select sum(staging_imports_count) as n from import_retention_stats")
    assert stats.fetchone() == {"n": 6}

    refused = cli("cleanup", "--imports-days", "-1")
    assert refused.returncode == 1
    assert refused.stderr == (
        "error: --imports-days and --anomalies-days must be 0 or more\n")


def test_verify_passes_and_names_what_is_wrong(cli, db) -> None:
    done = cli("verify")
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert all(line.startswith("ok   ") for line in lines[:-1]), done.stdout
    for name in ("migrations current", "tables present", "views present",
                 "functions present", "batch identity on staging_imports",
                 "row-level security on", "fn_anomalies_for_operator refuses a non-operator"):
        assert any(name in line for line in lines), name
    assert lines[-1].startswith("verification passed")

    db.execute("alter table public.projects disable row level security")
    broken = cli("verify")
    assert broken.returncode == 1
    assert "FAIL row-level security on (off on: projects)" in broken.stdout
    assert broken.stderr.strip() == "error: verification failed: 1 of 9 checks"


def test_smoke_passes_and_leaves_nothing(cli, db) -> None:
    done = cli("smoke")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1] == "smoke test passed: 5 checks"
    for table in ("tenants", "projects", "staging_imports", "import_anomalies",
                  "project_user_memberships", "ds_directory"):
        row = db.execute(f"select count(*) as n from {table}").fetchone()
        assert row == {"n": 0}, table


def test_smoke_fails_when_the_merge_misbehaves(cli, db) -> None:
    """A smoke test that cannot fail proves nothing: break the merge's anomaly rule."""
    db.execute("alter table public.import_anomalies add constraint smoke_breaker "
               "check (anomaly_type <> 'UNKNOWN_DS')")
    done = cli("smoke")
    assert done.returncode == 1
    assert "FAIL smoke batch ran to the end" in done.stdout
    assert "smoke_breaker" in done.stdout
    assert done.stderr.strip().startswith("error: smoke test failed")
    assert len(done.stderr.strip().splitlines()) == 1
