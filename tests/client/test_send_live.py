"""`projects-import send` against the real service and PostgreSQL."""

from __future__ import annotations

import json

from tests.client.conftest import rows, write_csv, write_json
from tests.support import cli_env, run_cli


def test_12000_rows_go_in_3_parts_and_a_resend_replays(
        live_server, tenant, directories, db, database_url, tmp_path) -> None:
    _, secret = tenant
    file = write_csv(tmp_path / "export-2025-08-18.csv", rows(12_000))
    command = ["send", str(file), "--url", live_server.url, "--tenant", "TELCO",
               "--min-interval", "0", "--json"]
    env = cli_env(tmp_path / "home", database_url, PROJECTS_IMPORT_BEARER=secret)

    first = run_cli(env, *command, timeout=120)
    assert first.returncode == 0, first.stdout + first.stderr
    doc = json.loads(first.stdout)
    assert [p["rows"] for p in doc["parts"]] == [5000, 5000, 2000]
    assert [p["status"] for p in doc["parts"]] == ["accepted"] * 3
    assert doc["totals"]["inserted_projects"] == 12_000
    assert all(p["response"]["correlation_id"] == p["correlation_id"] for p in doc["parts"])
    assert db.execute("select count(*) as n from projects where tenant_id = 'TELCO'"
                      ).fetchone()["n"] == 12_000
    staged = db.execute("select validation->>'request_batch_id' as part, row_count, "
                        "correlation_id::text as cid from staging_imports order by 1").fetchall()
    assert [s["part"] for s in staged] == [p["batch_id"] for p in doc["parts"]]
    assert [s["part"][-9:] for s in staged] == ["-part-001", "-part-002", "-part-003"]
    assert [s["cid"] for s in staged] == [p["correlation_id"] for p in doc["parts"]]

    again = run_cli(env, *command, timeout=120)
    assert again.returncode == 0, again.stdout + again.stderr
    replay = json.loads(again.stdout)
    assert replay["batch_id"] == doc["batch_id"], "the derived batch id is deterministic"
    assert [p["status"] for p in replay["parts"]] == ["replayed"] * 3
    assert [p["response"]["metrics"]["staging_id"] for p in replay["parts"]] == [
        p["response"]["metrics"]["staging_id"] for p in doc["parts"]]
    assert db.execute("select count(*) as n from staging_imports").fetchone()["n"] == 3


def test_human_output_of_a_resend(send_cli, live_server, tenant, directories, tmp_path) -> None:
    _, secret = tenant
    file = write_csv(tmp_path / "small.csv", rows(3))
    args = (str(file), "--url", live_server.url, "--tenant", "TELCO", "--min-interval", "0")
    assert send_cli(*args, bearer=secret).exit_code == 0
    result = send_cli(*args, bearer=secret)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("sending small.csv to " + live_server.url + "/import-projects "
                               "for tenant TELCO: batch small-")
    assert "part 1/1 small-" in lines[1] and "rows 1-3: replayed (200" in lines[1]
    assert "inserted 3, updated 0, unchanged 0, anomalies 0" in lines[1]
    assert lines[-1].startswith("result: accepted: all 1 part(s), 3 rows, answered 200 "
                                "(0 new, 1 replayed)")


def test_json_payload_file_with_gzip(send_cli, live_server, tenant, directories, db,
                                     tmp_path) -> None:
    _, secret = tenant
    payload = {"tenant_id": "TELCO", "source": "crm-export", "batch_id": "2025-08-18-daily",
               "rows": rows(4)}
    file = write_json(tmp_path / "payload.json", payload)
    result = send_cli(str(file), "--url", f"{live_server.url}/import-projects", "--tenant",
                      "TELCO", "--gzip", "--min-interval", "0", "--json", bearer=secret)
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["batch_id"] == "2025-08-18-daily" and doc["source"] == "crm-export"
    staged = db.execute("select source, validation->>'request_batch_id' as part "
                        "from staging_imports").fetchone()
    assert staged == {"source": "crm-export", "part": "2025-08-18-daily-part-001"}


def test_contract_violation_names_the_file_row(send_cli, live_server, tenant, directories,
                                               db, tmp_path) -> None:
    _, secret = tenant
    data = rows(6)
    data[4]["residential"] = "-3"  # file row 5 = row 1 of part 2
    file = write_csv(tmp_path / "bad.csv", data)
    result = send_cli(str(file), "--url", live_server.url, "--tenant", "TELCO", "--max-rows",
                      "4", "--min-interval", "0", bearer=secret)
    assert result.exit_code == 2
    assert "REJECTED (422 contract_violation)" in result.stdout
    assert "violation: file row 5 (part row 1) residential negative" in result.stdout
    assert db.execute("select count(*) as n from projects").fetchone()["n"] == 4


def test_wrong_bearer_is_rejected_not_retried(send_cli, live_server, tenant, tmp_path) -> None:
    file = write_csv(tmp_path / "a.csv", rows(1))
    result = send_cli(str(file), "--url", live_server.url, "--tenant", "TELCO",
                      "--min-interval", "0", bearer="pit_0123456789abcdef.not-the-secret-at-all")
    assert result.exit_code == 2
    assert "REJECTED (401 unauthorized)" in result.stdout
    assert "attempts 1" in result.stdout and "retry:" not in result.stderr
    assert "not-the-secret" not in result.stdout + result.stderr


def test_20000_row_export_in_one_command(send_cli, live_server, tenant, directories,
                                         tmp_path) -> None:
    _, secret = tenant
    file = write_csv(tmp_path / "weekly.csv", rows(20_000))
    result = send_cli(str(file), "--url", live_server.url, "--tenant", "TELCO",
                      "--min-interval", "0", bearer=secret)
    assert result.exit_code == 0, result.stderr
    out = result.stdout.splitlines()
    assert "20000 rows in 4 part(s) of at most 5000 rows and 5242880 bytes" in out[0]
    assert sum("accepted (200) inserted 5000" in line for line in out) == 4
    table = [line.split() for line in out if line[:3] in ("001", "002", "003", "004")]
    assert [(r[2], r[3], r[4], r[5]) for r in table] == [("5000", "accepted", "200", "5000")] * 4
    assert out[-1].startswith("result: accepted: all 4 part(s), 20000 rows, answered 200 "
                              "(4 new, 0 replayed); inserted 20000, updated 0, unchanged 0, "
                              "anomalies 0. exit 0")


def test_413_says_to_split_smaller_and_the_smaller_send_works(
        send_cli, settings, make_server, tenant, directories, db, tmp_path) -> None:
    _, secret = tenant
    server = make_server(settings.model_copy(update={"max_body_bytes": 8192}))
    file = write_csv(tmp_path / "wide.csv", rows(60))
    args = (str(file), "--url", server.url, "--tenant", "TELCO", "--min-interval", "0")
    too_big = send_cli(*args, "--max-bytes", "16384", bearer=secret)
    assert too_big.exit_code == 2
    assert "REJECTED (413 payload_too_large)" in too_big.stdout
    assert "split smaller, re-send with --max-bytes 8192" in too_big.stdout
    smaller = send_cli(*args, "--max-bytes", "8192", bearer=secret)
    assert smaller.exit_code == 0, smaller.stdout
    assert db.execute("select count(*) as n from projects").fetchone()["n"] == 60


def test_a_paused_tenants_423_says_when_in_its_zone_with_utc_beside(
        send_cli, live_server, tenant, directories, db, tmp_path) -> None:
    _, secret = tenant  # TELCO is in Australia/Adelaide
    db.execute("update tenants set paused_at = '2025-08-18T07:30:00Z', "
               "paused_reason = 'directory rebuild' where tenant_id = 'TELCO'")
    file = write_csv(tmp_path / "paused.csv", rows(2))
    result = send_cli(str(file), "--url", live_server.url, "--tenant", "TELCO",
                      "--min-interval", "0", bearer=secret)
    assert result.exit_code == 2, result.stdout + result.stderr
    # 07:30 UTC is 17:00 in Adelaide (ACST, +09:30): the tenant's clock first, UTC beside
    assert ("paused (quarantined) since 2025-08-18 17:00:00 ACST "
            "(2025-08-18 07:30:00 UTC): directory rebuild") in result.stdout
