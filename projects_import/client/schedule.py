"""`send --schedule`: every day at 17:00 in the tenant's time zone (the runbook's schedule),
send the export FILE as it is then, or the newest export in a drop folder.

The pieces are apart so each can be checked without waiting a day: the trigger (its next fire
time), the choice of file, and one run of the job.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from apscheduler.job import Job
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.cron import CronTrigger

SEND_HOUR = 17
EXPORT_SUFFIXES = (".csv", ".json")
JOB_ID = "projects-import-send"


def daily_trigger(timezone: str) -> CronTrigger:
    """17:00 local time each day, following the zone's daylight-saving changes."""
    return CronTrigger(hour=SEND_HOUR, minute=0, timezone=ZoneInfo(timezone))


def newest_export(folder: Path) -> Path | None:
    """The most recently modified *.csv or *.json in the folder (hidden files, which are
    often partial copies, are skipped); None when there is none."""
    candidates = [path for path in folder.iterdir()
                  if path.is_file() and not path.name.startswith(".")
                  and path.suffix.lower() in EXPORT_SUFFIXES]
    if not candidates:
        return None
    return max(candidates, key=lambda path: (path.stat().st_mtime_ns, path.name))


class DailySend:
    """The scheduled job: pick the export (the file itself, or a folder's newest) and send it
    with `send_file`."""

    def __init__(self, folder: Path, timezone: str, send_file: Callable[[Path], int],
                 log: Callable[[str], None]) -> None:
        self.folder = folder  # a drop folder, or one export file sent every day
        self.zone = ZoneInfo(timezone)
        self.timezone = timezone
        self.send_file = send_file
        self.log = log

    def _stamp(self) -> str:
        return datetime.now(self.zone).isoformat(timespec="seconds")

    def run_once(self) -> int | None:
        """One scheduled run: the send's exit code, or None when there was nothing to send."""
        try:
            if self.folder.is_dir():
                newest = newest_export(self.folder)
            else:
                newest = self.folder if self.folder.is_file() else None
        except OSError as exc:
            self.log(f"[{self._stamp()}] scheduled run: cannot read the drop folder "
                     f"{self.folder}: {exc.strerror}")
            return None
        if newest is None:
            what = "no *.csv or *.json in" if self.folder.is_dir() else "no export at"
            self.log(f"[{self._stamp()}] scheduled run: {what} {self.folder}; nothing sent")
            return None
        self.log(f"[{self._stamp()}] scheduled run: sending {newest.name}")
        code = self.send_file(newest)
        self.log(f"[{self._stamp()}] scheduled run finished: {newest.name} exit {code}")
        return code

    def install(self, scheduler: BaseScheduler) -> Job:
        """Add the daily job; a run still going at the next fire time is not doubled."""
        return scheduler.add_job(self.run_once, daily_trigger(self.timezone), id=JOB_ID,
                                 max_instances=1, coalesce=True, misfire_grace_time=3600)
