"""A paused tenant's 423 is final and said plainly; a scheduled send warns when the export has
not changed since the tenant's last successful send, or when the server only replays it."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from projects_import.cli.send import SendSettings, send_and_report
from projects_import.client.chunker import Limits
from projects_import.client.schedule import DailySend
from projects_import.client.sender import SendOptions
from projects_import.client.state import LastSend, SendState
from tests.client.conftest import FAST, rows, write_csv
from tests.client.fault_server import Fault


def send_settings(url: str, secret: str, *, json_output: bool = False) -> SendSettings:
    """What `send` would use, without request spacing or long backoff."""
    return SendSettings(tenant="TELCO", batch_id=None, source=None, limits=Limits(),
                        json_output=json_output,
                        options=SendOptions(url=url, bearer=secret, min_interval=0,
                                            backoff_base=0.01))


def _paused(reason: str = "directory rebuild", paused_at: str = "2025-08-18T07:30:00Z") -> Fault:
    return Fault(423, {}, {"error": {"code": "tenant_paused",
                                     "message": "tenant TELCO is paused: imports are refused",
                                     "correlation_id": str(uuid.uuid4()),
                                     "reason": reason, "paused_at": paused_at}})


def test_423_is_not_retried_exit_2_with_the_reason(send_cli, fault_server, tmp_path) -> None:
    fault_server.script = [_paused()]
    file = write_csv(tmp_path / "a.csv", rows(4))
    result = send_cli(str(file), "--url", fault_server.url, "--tenant", "TELCO",
                      "--max-rows", "2", *FAST)
    assert result.exit_code == 2, result.stdout
    assert len(fault_server.attempts) == 1, "a paused tenant is refused once, never retried"
    assert "retry:" not in result.stderr
    assert "REJECTED (423 tenant_paused): tenant TELCO is paused" in result.stdout
    verdict = [line for line in result.stdout.splitlines() if line.startswith("result:")]
    assert len(verdict) == 1
    assert ("tenant TELCO is paused (quarantined) on the server (reason: directory rebuild; "
            "paused at 2025-08-18T07:30:00Z); not retried") in verdict[0]
    assert "projects-import tenant resume TELCO" in verdict[0]
    assert "not sent: 2" in verdict[0]


def test_423_reason_from_the_message_when_the_answer_has_no_reason_field(
        send_cli, fault_server, tmp_path) -> None:
    message = ("tenant TELCO is paused (quarantined) since 2025-08-18 07:30:00 UTC: bad "
               "partner data. Nothing was staged")
    fault_server.script = [Fault(423, {}, {"error": {"code": "tenant_paused", "message": message,
                                                     "correlation_id": str(uuid.uuid4())}})]
    file = write_csv(tmp_path / "a.csv", rows(2))
    result = send_cli(str(file), "--url", fault_server.url, "--tenant", "TELCO", *FAST)
    assert result.exit_code == 2 and len(fault_server.attempts) == 1
    verdict = next(line for line in result.stdout.splitlines() if line.startswith("result:"))
    assert f"(the server says: {message}); not retried" in verdict


def test_423_in_json_output_keeps_the_reason(send_cli, fault_server, tmp_path) -> None:
    fault_server.script = [_paused(reason="bad partner data")]
    file = write_csv(tmp_path / "a.csv", rows(2))
    result = send_cli(str(file), "--url", fault_server.url, "--tenant", "TELCO", "--json",
                      *FAST)
    assert result.exit_code == 2
    part = json.loads(result.stdout)["parts"][0]
    assert part["status"] == "rejected" and part["http_status"] == 423
    assert part["error"]["code"] == "tenant_paused"


def test_send_state_survives_a_damaged_file(tmp_path: Path) -> None:
    state = SendState(tmp_path / "home" / "send-state.json")
    assert state.last("TELCO") is None
    state.record("TELCO", LastSend("ab" * 32, "export.csv", "2025-08-18T17:00:00+09:30"))
    state.record("OTHER", LastSend("cd" * 32, "other.csv", "2025-08-18T17:00:00+09:30"))
    assert state.last("TELCO") == LastSend("ab" * 32, "export.csv",
                                           "2025-08-18T17:00:00+09:30")
    assert state.last("OTHER") is not None
    state.path.write_text("{not json")
    assert state.last("TELCO") is None
    assert [p.name for p in state.path.parent.iterdir()] == ["send-state.json"]


def test_unchanged_export_and_replay_warn_in_the_scheduled_report(
        live_server, tenant, directories, tmp_path: Path, capsys) -> None:
    _, secret = tenant
    export = write_csv(tmp_path / "export.csv", rows(3))
    config = send_settings(f"{live_server.url}/import-projects", secret)
    state = SendState(tmp_path / "home" / "send-state.json")
    log: list[str] = []
    job = DailySend(export, "Australia/Adelaide",
                    lambda path: send_and_report(path, config, progress=False), log.append,
                    tenant_id="TELCO", state=state)

    assert job.run_once() == 0                      # day 1: new data, no warning
    assert not [line for line in log if "warning" in line]
    recorded = state.last("TELCO")
    assert recorded is not None and recorded.file == "export.csv"

    log.clear()
    assert job.run_once() == 0                      # day 2: the same export again
    warnings = [line for line in log if "warning:" in line]
    assert len(warnings) == 2, log
    assert "export.csv has not changed since the last successful send (export.csv at " in (
        warnings[0])
    assert "every part of export.csv was answered as a replay" in warnings[1]

    log.clear()
    write_csv(export, rows(3, start=50))            # day 3: a fresh export
    assert job.run_once() == 0
    assert not [line for line in log if "warning" in line], log
    assert state.last("TELCO") != recorded
    capsys.readouterr()


def test_a_failed_send_is_not_remembered(send_cli, fault_server, tmp_path: Path) -> None:
    """Only a successful send counts as 'last sent': a rejected export sent again is news."""
    fault_server.script = [_paused()]
    export = write_csv(tmp_path / "export.csv", rows(2))
    config = send_settings(fault_server.url, "pit_x.y", json_output=True)
    state = SendState(tmp_path / "send-state.json")
    log: list[str] = []
    job = DailySend(export, "UTC", lambda path: send_and_report(path, config, progress=False),
                    log.append, tenant_id="TELCO", state=state)
    assert job.run_once() == 2
    assert state.last("TELCO") is None
    assert job.run_once() == 0
    assert not [line for line in log if "warning" in line]
    assert state.last("TELCO") is not None
