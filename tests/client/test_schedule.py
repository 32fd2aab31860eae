"""`send --schedule`: the 17:00 local trigger, the choice of file, one run of the job, and the
CLI starting (time zone from the tenant's record) and stopping cleanly."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from apscheduler.schedulers.background import BackgroundScheduler

from projects_import.cli.send import SendSettings, send_file
from projects_import.client.chunker import Limits
from projects_import.client.schedule import JOB_ID, DailySend, daily_trigger, newest_export
from projects_import.client.sender import SendOptions
from tests.client.conftest import rows, write_csv
from tests.support import EXE, cli_env

ADELAIDE = ZoneInfo("Australia/Adelaide")


def _next(now: datetime) -> datetime:
    fire = daily_trigger("Australia/Adelaide").get_next_fire_time(None, now)
    assert fire is not None
    return fire


def test_trigger_fires_at_17_adelaide_time_across_daylight_saving() -> None:
    morning = datetime(2025, 8, 18, 10, 0, tzinfo=ADELAIDE)
    assert _next(morning) == datetime(2025, 8, 18, 17, 0, tzinfo=ADELAIDE)
    assert _next(morning).utcoffset() == timedelta(hours=9, minutes=30)
    evening = datetime(2025, 8, 18, 17, 0, 1, tzinfo=ADELAIDE)
    assert _next(evening) == datetime(2025, 8, 19, 17, 0, tzinfo=ADELAIDE)
    # daylight saving starts on 5 October 2025: 17:00 is then 06:30 UTC, not 07:30
    fire = _next(datetime(2025, 10, 4, 18, 0, tzinfo=ADELAIDE))
    assert fire.utcoffset() == timedelta(hours=10, minutes=30)
    assert fire.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%d %H:%M") == "2025-10-05 06:30"


def test_newest_export_by_modification_time(tmp_path: Path) -> None:
    assert newest_export(tmp_path) is None
    files = {name: tmp_path / name for name in
             ("old.csv", "new.JSON", "newer.txt", ".partial.csv", "mid.csv")}
    (tmp_path / "folder.csv").mkdir()
    for age, path in zip((300, 100, 10, 5, 200), files.values(), strict=True):
        path.write_text("stage_application\nSTG-1\n")
        os.utime(path, (time.time() - age, time.time() - age))
    assert newest_export(tmp_path) == files["new.JSON"]


def test_the_job_is_installed_for_17_local(tmp_path: Path) -> None:
    job = DailySend(tmp_path, "Australia/Adelaide", lambda _path: 0, lambda _line: None)
    scheduler = BackgroundScheduler(timezone=job.zone)
    job.install(scheduler)
    scheduler.start(paused=True)
    try:
        installed = scheduler.get_job(JOB_ID)
        fire = installed.next_run_time
        assert (fire.hour, fire.minute) == (17, 0) and fire.tzinfo is not None
        assert fire.utcoffset() in (timedelta(hours=9, minutes=30),
                                    timedelta(hours=10, minutes=30))
        assert installed.max_instances == 1
    finally:
        scheduler.shutdown(wait=False)


def live_send_settings(server_url: str, secret: str) -> SendSettings:
    """What `send` would use against the live test server, without request spacing."""
    return SendSettings(tenant="TELCO", batch_id=None, source=None, limits=Limits(),
                        json_output=False,
                        options=SendOptions(url=f"{server_url}/import-projects", bearer=secret,
                                            min_interval=0))


def test_one_scheduled_run_sends_the_newest_file(live_server, tenant, directories, db,
                                                 tmp_path: Path, capsys) -> None:
    _, secret = tenant
    folder = tmp_path / "drop"
    folder.mkdir()
    old = write_csv(folder / "monday.csv", rows(2))
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    write_csv(folder / "tuesday.csv", rows(3, start=100))
    config = live_send_settings(live_server.url, secret)
    log: list[str] = []
    job = DailySend(folder, "Australia/Adelaide",
                    lambda path: send_file(path, config, progress=False), log.append)

    assert job.run_once() == 0
    keys = [r["stage_application"] for r in
            db.execute("select stage_application from projects order by 1").fetchall()]
    assert keys == [f"STG-{i:012d}" for i in range(100, 103)]
    assert "scheduled run: sending tuesday.csv" in log[0]
    assert log[1].endswith("scheduled run finished: tuesday.csv exit 0")
    assert "+09:30]" in log[0] or "+10:30]" in log[0]
    assert "result: accepted" in capsys.readouterr().out

    (folder / "tuesday.csv").unlink()
    (folder / "monday.csv").unlink()
    assert job.run_once() is None
    assert "nothing sent" in log[-1]


def test_a_scheduled_file_is_sent_as_it_is_each_day(live_server, tenant, directories, db,
                                                    tmp_path: Path) -> None:
    """`send FILE --schedule`: the same path, rewritten by the upstream export every day."""
    _, secret = tenant
    export = write_csv(tmp_path / "export.csv", rows(2))
    config = live_send_settings(live_server.url, secret)
    log: list[str] = []
    job = DailySend(export, "Australia/Adelaide",
                    lambda path: send_file(path, config, progress=False), log.append)
    assert job.run_once() == 0
    write_csv(export, rows(3, start=200))          # the next day's export
    assert job.run_once() == 0
    assert db.execute("select count(*) as n from projects").fetchone()["n"] == 5
    assert "scheduled run: sending export.csv" in log[-2]
    export.unlink()
    assert job.run_once() is None
    assert "no export at" in log[-1]


def test_cli_schedule_reads_the_tenant_time_zone_and_stops_on_sigterm(
        tenant, database_url, tmp_path: Path) -> None:
    _, secret = tenant  # TELCO was created with Australia/Adelaide
    folder = tmp_path / "drop"
    folder.mkdir()
    process = subprocess.Popen(
        [EXE, "send", "--schedule", "--drop-folder", str(folder), "--tenant", "TELCO",
         "--url", "http://127.0.0.1:9/import-projects"],
        env=cli_env(tmp_path / "home", database_url, PROJECTS_IMPORT_BEARER=secret),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        ready, _, _ = select.select([process.stdout], [], [], 30)
        assert ready, "no output within 30 s"
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("scheduled: daily at 17:00 Australia/Adelaide, sending the "
                               f"newest *.csv or *.json in {folder} for tenant TELCO; next run ")
        fire = datetime.fromisoformat(line.rsplit("next run ", 1)[1].strip())
        assert (fire.hour, fire.minute) == (17, 0) and fire > datetime.now(ADELAIDE)
        assert fire - datetime.now(ADELAIDE) <= timedelta(days=1)
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err
    assert out.strip().endswith("schedule stopped")


def test_cli_schedule_refusals(send_cli, tmp_path: Path, settings) -> None:
    url = ("--url", "http://127.0.0.1:9/import-projects", "--tenant", "NOBODY")
    no_folder = send_cli("--schedule", *url)
    assert no_folder.exit_code == 1
    assert "--schedule needs the export FILE to send daily, or --drop-folder DIR" in (
        no_folder.stderr)
    missing = send_cli(str(tmp_path / "absent.csv"), "--schedule", *url)
    assert missing.exit_code == 1 and "--schedule needs the export FILE" in missing.stderr
    with_id = send_cli("--schedule", "--drop-folder", str(tmp_path), "--batch-id", "x", *url)
    assert with_id.exit_code == 1 and "--batch-id cannot be used with --schedule" in (
        with_id.stderr)
    unknown = send_cli("--schedule", "--drop-folder", str(tmp_path), *url)
    assert unknown.exit_code == 1
    assert "no tenant NOBODY in the configured database" in unknown.stderr
    bad_zone = send_cli("--schedule", "--drop-folder", str(tmp_path), "--timezone", "Mars/Base",
                        *url)
    assert bad_zone.exit_code == 1 and "unknown time zone 'Mars/Base'" in bad_zone.stderr
