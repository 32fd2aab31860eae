"""`send` refuses what it cannot send with one line on stderr and exit 1, and the real console
script returns the documented exit codes."""

from __future__ import annotations

import pytest

from projects_import.cli.send import endpoint
from tests.client.conftest import FAST, rows, write_csv
from tests.client.fault_server import error
from tests.support import cli_env, run_cli


@pytest.mark.parametrize(("args", "message"), [
    (("--tenant", "TELCO"), "--url is required"),
    (("--url", "http://127.0.0.1:9"), "--tenant is required"),
    (("--url", "ftp://example.org/x", "--tenant", "T"), "--url must be an http(s) URL"),
    (("--url", "http://127.0.0.1:9", "--tenant", "T", "--max-rows", "5001"),
     "--max-rows must be 1..5000"),
    (("--url", "http://127.0.0.1:9", "--tenant", "T", "--max-bytes", "100"),
     "--max-bytes must be at least 1024"),
    (("--url", "http://127.0.0.1:9", "--tenant", "T"), "give the export FILE to send"),
])
def test_option_errors(send_cli, args, message) -> None:
    result = send_cli(*args)
    assert result.exit_code == 1
    assert result.stderr.strip().startswith("error: ") and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_missing_bearer(tmp_path) -> None:
    from typer.testing import CliRunner

    from projects_import.cli import app

    file = write_csv(tmp_path / "a.csv", rows(1))
    result = CliRunner().invoke(app, ["send", str(file), "--url", "http://127.0.0.1:9",
                                      "--tenant", "T"], env={"PROJECTS_IMPORT_BEARER": ""})
    assert result.exit_code == 1
    assert "set PROJECTS_IMPORT_BEARER" in result.stderr


def test_unreadable_files(send_cli, tmp_path) -> None:
    url = ("--url", "http://127.0.0.1:9", "--tenant", "T")
    missing = send_cli(str(tmp_path / "nope.csv"), *url)
    assert missing.exit_code == 1 and "is not a readable file" in missing.stderr
    bad = tmp_path / "bad.csv"
    bad.write_text("name\nx\n")
    unreadable = send_cli(str(bad), *url)
    assert unreadable.exit_code == 1
    assert unreadable.stderr.startswith("error: bad.csv: the CSV needs a header row")


def test_a_file_repeating_a_project_is_refused_before_sending(send_cli, tmp_path) -> None:
    """Split into parts, a repeated stage_application would silently overwrite; one batch
    would be a 422. Nothing is sent (the URL is not even reachable)."""
    data = rows(7000)
    data[6500]["stage_application"] = data[10]["stage_application"]
    file = write_csv(tmp_path / "dup.csv", data)
    result = send_cli(str(file), "--url", "http://127.0.0.1:9", "--tenant", "T")
    assert result.exit_code == 1
    assert "row 6501 repeats the stage_application of row 11" in result.stderr


def test_plain_http_to_a_remote_host_warns(send_cli, tmp_path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("name\nx\n")
    result = send_cli(str(bad), "--url", "http://imports.example.org", "--tenant", "T")
    assert "warning: imports.example.org is reached over plain http" in result.stderr


def test_endpoint_adds_the_route_to_a_base_url() -> None:
    assert endpoint("http://127.0.0.1:8000") == "http://127.0.0.1:8000/import-projects"
    assert endpoint("https://h.example/") == "https://h.example/import-projects"
    assert endpoint("https://h.example/functions/v1/import-projects") == (
        "https://h.example/functions/v1/import-projects")


@pytest.mark.parametrize(("script", "code"), [
    ([error(422, "contract_violation")], 2),
    ([error(503, "unavailable")] * 5, 3),
    ([error(503, "unavailable")] * 4, 0),
])
def test_console_script_exit_codes(fault_server, tmp_path, script, code) -> None:
    fault_server.script = list(script)
    file = write_csv(tmp_path / "a.csv", rows(2))
    env = cli_env(tmp_path / "home", PROJECTS_IMPORT_BEARER="pit_x")
    done = run_cli(env, "send", str(file), "--url", fault_server.url, "--tenant", "TELCO",
                   *FAST)
    assert done.returncode == code, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1].endswith(f"exit {code}")
