"""The runbook's retry policy, against a real HTTP server that injects faults: which answers
are retried, how often, after how long, and the exit code each outcome gives."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from projects_import.client.sender import Sender, SendOptions
from tests.client.conftest import FAST, rows, write_csv
from tests.client.fault_server import RESET, Fault, FaultServer, error
from tests.support import free_port

BASE = 0.2  # --backoff-base for the timing tests: delays 0.2, 0.4, 0.8, 1.6 s
SLACK = 0.5  # scheduling and request overhead allowed on top of a delay (a busy machine)


def _send(send_cli, server: FaultServer, file: Path, *extra: str):
    return send_cli(str(file), "--url", server.url, "--tenant", "TELCO", *extra)


def test_429_waits_for_retry_after_then_succeeds(send_cli, fault_server, tmp_path) -> None:
    fault_server.script = [error(429, "import_in_progress", Retry_After="1")]
    result = _send(send_cli, fault_server, write_csv(tmp_path / "a.csv", rows(3)), *FAST)
    assert result.exit_code == 0, result.stderr
    assert len(fault_server.attempts) == 2
    # the backoff alone would be 0.01 s; the server asked for 1 s
    assert 1.0 <= fault_server.gaps()[0] < 1.0 + SLACK
    ids = {a.payload["correlation_id"] for a in fault_server.attempts}
    assert len(ids) == 1, "a retry repeats the part's correlation id"
    (cid,) = ids
    assert fault_server.attempts[1].headers["X-Correlation-Id"] == cid
    assert "retry: part 1/1" in result.stderr and "got 429 import_in_progress" in result.stderr
    assert f"correlation_id {cid}" in result.stderr
    assert "accepted (200)" in result.stdout and cid in result.stdout


def test_503_twice_then_200_backs_off_1x_then_2x(send_cli, fault_server, tmp_path) -> None:
    fault_server.script = [error(503, "unavailable"), error(503, "unavailable")]
    result = _send(send_cli, fault_server, write_csv(tmp_path / "a.csv", rows(2)),
                   "--backoff-base", str(BASE), "--min-interval", "0")
    assert result.exit_code == 0, result.stderr
    assert len(fault_server.attempts) == 3
    first, second = fault_server.gaps()
    assert BASE <= first < BASE + SLACK
    assert 2 * BASE <= second < 2 * BASE + SLACK
    assert result.stderr.count("retry: part 1/1") == 2
    assert "attempts 3" in result.stdout


def test_503_retry_after_a_deadlock_is_sent_again(send_cli, fault_server, tmp_path) -> None:
    """The service's answer to a transaction rolled back for a concurrent one (SQLSTATE
    40P01/40001): 503 `retry` with Retry-After; `send` waits that long and sends again."""
    fault_server.script = [error(503, "retry", Retry_After="1")]
    result = _send(send_cli, fault_server, write_csv(tmp_path / "a.csv", rows(2)), *FAST)
    assert result.exit_code == 0, result.stderr
    assert len(fault_server.attempts) == 2
    assert 1.0 <= fault_server.gaps()[0] < 1.0 + SLACK
    assert "got 503 retry" in result.stderr


def test_connection_reset_is_retried(send_cli, fault_server, tmp_path) -> None:
    fault_server.script = [RESET]
    result = _send(send_cli, fault_server, write_csv(tmp_path / "a.csv", rows(2)), *FAST)
    assert result.exit_code == 0, result.stderr
    assert len(fault_server.attempts) == 2
    assert "connection error" in result.stderr


def test_five_attempts_then_exit_3(send_cli, fault_server, tmp_path) -> None:
    fault_server.script = [error(500, "internal_error")] * 6
    file = write_csv(tmp_path / "a.csv", rows(4))
    result = _send(send_cli, fault_server, file, "--max-rows", "2",
                   "--backoff-base", str(BASE), "--min-interval", "0")
    assert result.exit_code == 3, result.stdout
    assert len(fault_server.attempts) == 5, "5 attempts in all, then stop"
    for gap, expected in zip(fault_server.gaps(), (1, 2, 4, 8), strict=True):
        assert expected * BASE <= gap < expected * BASE + SLACK
    assert "FAILED after 5 attempt(s), last (500 internal_error)" in result.stdout
    assert "result: FAILED: part 1" in result.stdout
    assert "not sent: 2" in result.stdout, "the second part is not sent after a failure"


@pytest.mark.parametrize(("status", "code", "hint"), [
    (400, "invalid_json", "correct the request"),
    (401, "unauthorized", "PROJECTS_IMPORT_BEARER"),
    (413, "payload_too_large", "split smaller, re-send with --max-bytes 2621440"),
    (422, "contract_violation", "correct the rows"),
])
def test_final_answers_are_never_retried(send_cli, fault_server, tmp_path, status, code,
                                         hint) -> None:
    fault_server.script = [error(status, code)]
    result = _send(send_cli, fault_server, write_csv(tmp_path / "a.csv", rows(2)), *FAST)
    assert result.exit_code == 2, result.stdout
    assert len(fault_server.attempts) == 1
    assert f"REJECTED ({status} {code})" in result.stdout
    assert hint in result.stdout
    assert "retry:" not in result.stderr


def test_rejection_stops_the_batch_and_maps_violations_to_file_rows(
        send_cli, fault_server, tmp_path) -> None:
    violation = {"row_index": 3, "field": "residential", "code": "negative",
                 "message": "residential must not be negative"}
    fault_server.script = [  # part 1 accepted, part 2 rejected
        Fault(200, {}, FaultServer.success({"rows": [{}] * 3, "tenant_id": "TELCO"})),
        error(422, "contract_violation", "1 contract violation(s)", violations=[violation]),
    ]
    file = write_csv(tmp_path / "a.csv", rows(9))
    result = _send(send_cli, fault_server, file, "--max-rows", "3", *FAST)
    assert result.exit_code == 2
    assert len(fault_server.attempts) == 2, "part 3 is not sent after part 2 is rejected"
    cid = fault_server.attempts[1].payload["correlation_id"]
    assert (f"violation: file row 7 (part row 4) residential negative: residential must not "
            f"be negative; correlation_id {cid}") in result.stdout
    assert "Parts accepted: 1; not sent: 3" in result.stdout
    table_rows = [line for line in result.stdout.splitlines() if line.startswith("00")]
    assert [line.split()[3] for line in table_rows] == ["accepted", "rejected", "not"]


def test_min_interval_spaces_requests(send_cli, fault_server, tmp_path) -> None:
    file = write_csv(tmp_path / "a.csv", rows(3))
    result = _send(send_cli, fault_server, file, "--max-rows", "1", "--min-interval", "0.5")
    assert result.exit_code == 0, result.stderr
    assert len(fault_server.attempts) == 3
    # measured at arrival, where a busy machine can delay one request more than the next;
    # without the spacing the gaps would be a few milliseconds
    assert all(0.4 <= gap < 0.5 + SLACK for gap in fault_server.gaps()), fault_server.gaps()


def test_unreachable_server_exits_3(send_cli, tmp_path) -> None:
    port = free_port()  # nobody listens there
    result = send_cli(str(write_csv(tmp_path / "a.csv", rows(1))), "--url",
                      f"http://127.0.0.1:{port}/import-projects", "--tenant", "TELCO", *FAST)
    assert result.exit_code == 3
    assert "FAILED after 5 attempt(s), last (no answer): connection error" in result.stdout
    assert "still failing after 5 attempt(s), last no answer; correlation_id" in result.stdout
    assert result.stderr.count("retry:") == 4


def test_json_output_lists_attempts_and_correlation_ids(send_cli, fault_server,
                                                        tmp_path) -> None:
    fault_server.script = [error(502, "bad_gateway")]
    result = _send(send_cli, fault_server, write_csv(tmp_path / "a.csv", rows(5)),
                   "--max-rows", "2", "--json", *FAST)
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["result"] == "accepted" and doc["exit_code"] == 0
    assert [p["attempts"] for p in doc["parts"]] == [2, 1, 1]
    sent = [a.payload["correlation_id"] for a in fault_server.attempts]
    assert [p["correlation_id"] for p in doc["parts"]] == [sent[0], sent[2], sent[3]]
    assert doc["totals"]["inserted_projects"] == 5
    assert [p["batch_id"][-8:] for p in doc["parts"]] == ["part-001", "part-002", "part-003"]


def test_gzip_bodies_decode_to_the_same_payload(send_cli, fault_server, tmp_path) -> None:
    result = _send(send_cli, fault_server, write_csv(tmp_path / "a.csv", rows(2)),
                   "--gzip", *FAST)
    assert result.exit_code == 0, result.stderr
    (attempt,) = fault_server.attempts
    assert attempt.headers["Content-Encoding"] == "gzip"
    assert [r["stage_application"] for r in attempt.payload["rows"]] == [
        "STG-000000000000", "STG-000000000001"]


def test_full_scale_delays_are_1_2_4_8_seconds(fault_server) -> None:
    """The default schedule, read from the sleeps the policy asks for (no real waiting)."""
    fault_server.script = [error(503, "unavailable")] * 5
    slept: list[float] = []
    options = SendOptions(url=fault_server.url, bearer="pit_x", min_interval=0)
    with Sender(options, sleep=slept.append) as sender:
        answer = sender.post(b'{"rows":[]}', "00000000-0000-0000-0000-000000000000")
    assert answer.status == "failed" and answer.attempts == 5 and answer.http_status == 503
    assert slept == [1.0, 2.0, 4.0, 8.0]


def test_retry_after_longer_than_backoff_wins(fault_server) -> None:
    fault_server.script = [error(429, "import_in_progress", Retry_After="7"),
                           error(503, "unavailable", Retry_After="0")]
    slept: list[float] = []
    options = SendOptions(url=fault_server.url, bearer="pit_x", min_interval=0)
    with Sender(options, sleep=slept.append) as sender:
        answer = sender.post(b'{"rows":[]}', "00000000-0000-0000-0000-000000000000")
    assert answer.status == "accepted" and answer.attempts == 3
    assert slept == [7.0, 2.0]


def test_progress_bar_only_on_a_terminal(fault_server, tmp_path) -> None:
    import os
    import pty
    import subprocess

    from tests.support import EXE, cli_env

    file = write_csv(tmp_path / "a.csv", rows(6))
    primary, secondary = pty.openpty()
    env = cli_env(tmp_path / "home", PROJECTS_IMPORT_BEARER="pit_x", COLUMNS="160",
                  TERM="xterm")
    process = subprocess.Popen(
        [EXE, "send", str(file), "--url", fault_server.url, "--tenant", "TELCO",
         "--max-rows", "2", "--min-interval", "0.4"],
        stdout=secondary, stderr=secondary, env=env)
    os.close(secondary)
    output = b""
    while True:
        try:
            data = os.read(primary, 65536)
        except OSError:  # the terminal closes when the process ends
            break
        if not data:
            break
        output += data
    os.close(primary)
    assert process.wait(timeout=30) == 0
    text = output.decode(errors="replace")
    assert "sending rows" in text and "2/6" in text
    assert "result: accepted: all 3 part(s)" in text
