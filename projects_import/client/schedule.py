"""`send --schedule`: every day at 17:00 in the tenant's time zone (the runbook's schedule),
send the export FILE as it is then, or the newest export in a drop folder.

The pieces are apart so each can be checked without waiting a day: the trigger (its next fire
time), the choice of file, and one run of the job.

A run warns when the export has not changed since the tenant's last successful send (its
SHA-256 is kept in a small state file, `client/state.py`) and when every part was answered
as a replay: both mean the day's data probably did not arrive upstream, which an exit 0
alone would hide.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from apscheduler.job import Job
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.cron import CronTrigger

from projects_import.client.reader import file_digest
from projects_import.client.state import LastSend, SendState

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


@dataclass(frozen=True)
class SendResult:
    """How one send ended: its exit code, and whether every part was a replay."""

    exit_code: int
    replayed: bool = False


class DailySend:
    """The scheduled job: pick the export (the file itself, or a folder's newest) and send it
    with `send_file`. With a `state` and a `tenant_id`, it remembers each successful send and
    warns about an export that has not changed."""

    def __init__(self, folder: Path, timezone: str,
                 send_file: Callable[[Path], int | SendResult], log: Callable[[str], None], *,
                 tenant_id: str | None = None, state: SendState | None = None) -> None:
        self.folder = folder  # a drop folder, or one export file sent every day
        self.zone = ZoneInfo(timezone)
        self.timezone = timezone
        self.send_file = send_file
        self.log = log
        self.tenant_id = tenant_id
        self.state = state if tenant_id else None

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
        digest = self._warn_if_unchanged(newest)
        result = self.send_file(newest)
        if isinstance(result, int):
            result = SendResult(result)
        if result.replayed:
            self.log(f"[{self._stamp()}] warning: every part of {newest.name} was answered as "
                     "a replay: the service already had these rows, so nothing new arrived "
                     "today; check the upstream export")
        if result.exit_code == 0 and digest is not None and self.state and self.tenant_id:
            self.state.record(self.tenant_id, LastSend(digest, newest.name, self._stamp()))
        self.log(f"[{self._stamp()}] scheduled run finished: {newest.name} "
                 f"exit {result.exit_code}")
        return result.exit_code

    def _warn_if_unchanged(self, export: Path) -> str | None:
        """The export's SHA-256 (None without state), after warning when it is the one the
        tenant's last successful send carried."""
        if self.state is None or self.tenant_id is None:
            return None
        try:
            digest = file_digest(export)
        except OSError:
            return None  # the send itself reports an unreadable file
        last = self.state.last(self.tenant_id)
        if last is not None and last.sha256 == digest:
            self.log(f"[{self._stamp()}] warning: {export.name} has not changed since the "
                     f"last successful send ({last.file} at {last.sent_at}); the upstream "
                     "export may have missed a day")
        return digest

    def install(self, scheduler: BaseScheduler) -> Job:
        """Add the daily job; a run still going at the next fire time is not doubled."""
        return scheduler.add_job(self.run_once, daily_trigger(self.timezone), id=JOB_ID,
                                 max_instances=1, coalesce=True, misfire_grace_time=3600)
