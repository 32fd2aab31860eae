"""`projects-import send` — the upstream client (SPEC §8). Parses options and prints; the work
is in `projects_import.client`."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Annotated

import httpx
import typer

from projects_import.cli import runtime
from projects_import.client import report
from projects_import.client.batch import BatchRun, Part, plan_batch, send_batch
from projects_import.client.chunker import Limits
from projects_import.client.schedule import DailySend, SendResult
from projects_import.client.sender import RetryNotice, SendOptions
from projects_import.client.state import STATE_FILE, SendState
from projects_import.errors import ProjectsImportError
from projects_import.tenants import TenantStore, check_timezone
from projects_import.vocabulary import MAX_BODY_BYTES, MAX_ROWS, is_loopback

BEARER_ENV = "PROJECTS_IMPORT_BEARER"
ROUTE = "/import-projects"
EXIT_UNSENDABLE = 1


@dataclass
class SendSettings:
    tenant: str
    batch_id: str | None
    source: str | None
    limits: Limits
    options: SendOptions
    json_output: bool


def endpoint(url: str) -> str:
    """The import route: `--url` as given, or with /import-projects added to a bare base URL."""
    try:
        parsed = httpx.URL(url.strip())
    except httpx.InvalidURL as exc:
        raise ValueError(f"--url {url!r} is not a URL: {exc}") from exc
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ValueError(f"--url must be an http(s) URL such as https://host{ROUTE}")
    if parsed.path in ("", "/"):
        parsed = parsed.copy_with(path=ROUTE)
    return str(parsed)


def _bearer() -> str:
    secret = os.environ.get(BEARER_ENV, "").strip()
    if not secret:
        runtime.fail(f"set {BEARER_ENV} to the tenant's bearer secret")
    return secret


@contextmanager
def _progress(enabled: bool, total: int) -> Iterator[Callable[[int], None]]:
    """A progress bar on a terminal (rows sent of the file's total); nothing otherwise."""
    if not enabled:
        yield lambda _rows: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    with Progress("sending rows", BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=Console(file=sys.stdout, soft_wrap=True), transient=True) as bar:
        task = bar.add_task("send", total=total)
        yield lambda rows: bar.advance(task, rows)


def send_file(path: Path, config: SendSettings, *, progress: bool) -> int:
    """Plan, send and report one file; returns the exit code (1 when it cannot be sent)."""
    return send_and_report(path, config, progress=progress).exit_code


def send_and_report(path: Path, config: SendSettings, *, progress: bool) -> SendResult:
    """`send_file`, also telling whether every part was answered as a replay."""
    try:
        return _send_file(path, config, progress=progress)
    except ProjectsImportError as exc:  # the export cannot be read or split
        print(f"error: {path.name}: {exc}", file=sys.stderr, flush=True)
        return SendResult(EXIT_UNSENDABLE)


def _send_file(path: Path, config: SendSettings, *, progress: bool) -> SendResult:
    human = not config.json_output
    plan = plan_batch(path, tenant_id=config.tenant, source=config.source,
                      batch_id=config.batch_id, limits=config.limits)
    total = len(plan.parts)
    if human:
        print(report.plan_line(plan, config.options.url, config.options.gzip), flush=True)

    def on_retry(part: Part, notice: RetryNotice) -> None:
        print(report.retry_line(part, total, notice), file=sys.stderr, flush=True)

    with _progress(progress and human, plan.total_rows) as advance:
        def on_part(part: Part) -> None:
            if part.status in ("accepted", "replayed"):
                advance(part.rows)
            if human:
                print(report.part_line(part, total, dry_run=config.options.dry_run),
                      flush=True)
                for line in report.violation_lines(part):
                    print(line, flush=True)

        run: BatchRun = send_batch(plan, config.options, on_part=on_part, on_retry=on_retry)
    if human:
        print()
        print(report.table(run))
        print(report.verdict(run), flush=True)
    else:
        print(json.dumps(report.as_json(run), ensure_ascii=False), flush=True)
    return SendResult(run.exit_code,
                      replayed=all(part.status == "replayed" for part in run.parts))


def _tenant_timezone(tenant: str, given: str | None) -> str:
    """--timezone, else the tenant's record in the configured database."""
    if given:
        return check_timezone(given)
    config = runtime.settings()
    record = runtime.run(config, lambda db: TenantStore(db).get(tenant))
    if record is None:
        runtime.fail(f"no tenant {tenant} in the configured database to read its time zone "
                     "from; pass --timezone")
    return record.timezone


def _run_schedule(folder: Path, timezone: str, config: SendSettings, state: SendState) -> None:
    """Run the daily job until SIGTERM or Ctrl-C; a run in progress is allowed to finish."""
    from apscheduler.schedulers.background import BackgroundScheduler

    out = sys.stderr if config.json_output else sys.stdout

    def log(line: str) -> None:
        print(line, file=out, flush=True)

    def send_newest(path: Path) -> SendResult:
        try:
            return send_and_report(path, config, progress=False)
        except Exception as exc:  # a daily job outlives one bad run
            log(f"error: scheduled send of {path.name} stopped: {type(exc).__name__}: {exc}")
            return SendResult(EXIT_UNSENDABLE)

    job = DailySend(folder, timezone, send_newest, log, tenant_id=config.tenant, state=state)
    scheduler = BackgroundScheduler(timezone=job.zone)
    installed = job.install(scheduler)
    stop = threading.Event()

    def request_stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, request_stop)
    scheduler.start()
    next_run = installed.next_run_time
    what = "the newest *.csv or *.json in" if folder.is_dir() else "the export"
    log(f"scheduled: daily at 17:00 {timezone}, sending {what} "
        f"{folder} for tenant {config.tenant}; next run "
        f"{next_run.isoformat() if next_run else 'never'}")
    while not stop.wait(1.0):
        pass
    scheduler.shutdown(wait=True)
    log("schedule stopped")


def register(app: typer.Typer) -> None:
    @app.command("send")
    def send(
        file: Annotated[Path | None, typer.Argument(
            help="CSV (header row) or JSON (array of rows, or a full payload) export; with "
                 "--schedule, the drop folder.", show_default=False)] = None,
        url: Annotated[str, typer.Option(
            help=f"The service's {ROUTE} URL (a bare base URL gets {ROUTE} added).",
            show_default=False)] = "",
        tenant: Annotated[str, typer.Option(help="Tenant id.", show_default=False)] = "",
        batch_id: Annotated[str | None, typer.Option(
            help="Batch id; parts are <batch id>-part-NNN. Default: from the file's name and "
                 "content, so a re-send replays.")] = None,
        source: Annotated[str | None, typer.Option(
            help="Source label. Default: the payload's, else projects-import.")] = None,
        gzip: Annotated[bool, typer.Option("--gzip/--no-gzip",
                                           help="Compress request bodies.")] = False,
        json_output: Annotated[bool, typer.Option(
            "--json", help="Print one JSON document per send instead of text.")] = False,
        max_rows: Annotated[int, typer.Option(help="Rows per part (1..5000).")] = MAX_ROWS,
        max_bytes: Annotated[int, typer.Option(
            help="Bytes per request body before gzip (at least 1024).")] = MAX_BODY_BYTES,
        backoff_base: Annotated[float, typer.Option(
            help="First retry delay in seconds; then x2, x4, x8.")] = 1.0,
        min_interval: Annotated[float, typer.Option(
            help="Least seconds between request starts (1 request per second).")] = 1.0,
        timeout: Annotated[float, typer.Option(
            help="Seconds to wait for one answer.")] = 120.0,
        schedule: Annotated[bool, typer.Option(
            "--schedule", help="Run daily at 17:00 in the tenant's time zone, sending the "
                               "newest export in the drop folder.")] = False,
        timezone: Annotated[str | None, typer.Option(
            help="IANA zone for --schedule. Default: the tenant's record.")] = None,
        drop_folder: Annotated[Path | None, typer.Option(
            help="Folder --schedule takes the newest *.csv / *.json from.")] = None,
        dry_run: Annotated[bool, typer.Option(
            "--dry-run", help="Ask the server what every part would do (inserted, updated, "
                              "memberships ended, anomalies, audit findings); nothing is "
                              "staged or merged.")] = False,
    ) -> None:
        """Send a CSV or JSON export to POST /import-projects in parts of at most 5000 rows
        and 5 MB, retrying 429/5xx/connection errors (1, 2, 4, 8 s; 5 attempts). The bearer
        secret comes from PROJECTS_IMPORT_BEARER. Exit 0: every part accepted (or replayed);
        2: a part was rejected (400/401/413/422); 3: a part still failed after its retries;
        4: a part was held for review by the tenant's audit (202; later parts not sent);
        1: nothing could be sent (bad options or unreadable file)."""
        if not url:
            runtime.fail("--url is required (the service's /import-projects URL)")
        if not tenant:
            runtime.fail("--tenant is required")
        if not 1 <= max_rows <= MAX_ROWS:
            runtime.fail(f"--max-rows must be 1..{MAX_ROWS}")
        if max_bytes < 1024:
            runtime.fail("--max-bytes must be at least 1024")
        if backoff_base < 0 or min_interval < 0 or timeout <= 0:
            runtime.fail("--backoff-base and --min-interval must be >= 0, --timeout > 0")
        try:
            target = endpoint(url)
        except ValueError as exc:
            runtime.fail(str(exc))
        host = httpx.URL(target).host
        if target.startswith("http://") and not is_loopback(host):
            print(f"warning: {host} is reached over plain http; the bearer secret is sent "
                  "unencrypted (use https)", file=sys.stderr)
        config = SendSettings(
            tenant=tenant, batch_id=batch_id, source=source,
            limits=Limits(max_rows=max_rows, max_bytes=max_bytes), json_output=json_output,
            options=SendOptions(url=target, bearer=_bearer(), gzip=gzip, timeout=timeout,
                                backoff_base=backoff_base, min_interval=min_interval,
                                dry_run=dry_run))
        if schedule and dry_run:
            runtime.fail("--dry-run cannot be used with --schedule")
        if schedule:
            folder = drop_folder or file
            if folder is None or not (folder.is_dir() or folder.is_file()):
                runtime.fail("--schedule needs the export FILE to send daily, or "
                             "--drop-folder DIR whose newest export is sent")
            if batch_id:
                runtime.fail("--batch-id cannot be used with --schedule: each day's file "
                             "gets its own id from its name and content")
            state = SendState(runtime.settings().home / STATE_FILE)
            _run_schedule(folder, _tenant_timezone(tenant, timezone), config, state)
            return
        if file is None:
            runtime.fail("give the export FILE to send")
        if not file.is_file():
            runtime.fail(f"{file} is not a readable file")
        progress = sys.stdout.isatty() and sys.stderr.isatty()
        code = send_file(file, config, progress=progress)
        if code:
            raise typer.Exit(code)
