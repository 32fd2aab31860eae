"""Retention (SPEC §5.7): `fn_cleanup_import_data` one committed chunk at a time, and the daily
job's single-runner rule — a transaction-scoped advisory lock taken by every chunk (no session
state, so it holds through a transaction-mode pooler), and no run at all when the database's
pg_cron already runs the job."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from projects_import.db.connection import Database, QuerySession
from projects_import.errors import InvalidInput
from projects_import.vocabulary import RETENTION_LOCK

DEFAULT_IMPORTS_DAYS = 60
DEFAULT_ANOMALIES_DAYS = 90
DEFAULT_CHUNK_SIZE = 5000


class RetentionError(InvalidInput):
    """Retention asked for with days or a chunk size it cannot use."""

    code = "invalid_retention"


@dataclass
class CleanupResult:
    staging_imports_deleted: int = 0
    import_anomalies_deleted: int = 0
    chunks: int = 0
    complete: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class RetentionRun:
    """One scheduled retention run: `ran`, or skipped because of `locked` / `pg_cron`."""

    outcome: str
    cleanup: CleanupResult | None = None


async def cron_job(session: QuerySession) -> dict[str, Any] | None:
    """This database's pg_cron retention job, or None (also when pg_cron is absent)."""
    job: dict[str, Any] | None = await session.fetch_value("retention_cron_job")
    return job


class Retention:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def cleanup(
        self,
        imports_days: int = DEFAULT_IMPORTS_DAYS,
        anomalies_days: int = DEFAULT_ANOMALIES_DAYS,
        *,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        should_stop: Callable[[], bool] | None = None,
    ) -> CleanupResult:
        """Run retention, one committed chunk at a time, until nothing is due."""
        if imports_days < 0 or anomalies_days < 0:
            raise RetentionError("retention days must be 0 or more")
        if chunk_size < 1:
            raise RetentionError("the chunk size must be 1 or more")
        async with self.db.session() as session:
            result = await _cleanup_chunks(session, imports_days, anomalies_days, chunk_size,
                                           should_stop)
        assert result is not None  # only a run `as_runner` can find the lock taken
        return result

    async def run_job(
        self,
        imports_days: int = DEFAULT_IMPORTS_DAYS,
        anomalies_days: int = DEFAULT_ANOMALIES_DAYS,
        *,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        should_stop: Callable[[], bool] | None = None,
    ) -> RetentionRun:
        """The daily job: one runner across replicas (a transaction-scoped advisory lock per
        chunk), and none when pg_cron already runs the retention job for this database."""
        async with self.db.session() as session:
            if await cron_job(session) is not None:
                return RetentionRun("pg_cron")
            result = await _cleanup_chunks(session, imports_days, anomalies_days, chunk_size,
                                           should_stop, as_runner=True)
        if result is None:
            return RetentionRun("locked")
        return RetentionRun("ran", result)


async def _cleanup_chunks(
    session: QuerySession,
    imports_days: int,
    anomalies_days: int,
    chunk_size: int,
    should_stop: Callable[[], bool] | None,
    *,
    as_runner: bool = False,
) -> CleanupResult | None:
    """One chunk per call of fn_cleanup_import_data, each its own transaction (autocommit).

    `as_runner`: each chunk first takes the job's transaction-scoped lock. None when another
    replica held it before the first chunk; when one takes it between chunks, that one runs to
    the end and this run stops where it is."""
    total = CleanupResult()
    lock = {"lock_class": RETENTION_LOCK[0], "lock_key": RETENTION_LOCK[1]} if as_runner else {}
    name = "retention_chunk_as_runner" if as_runner else "cleanup_import_data"
    while not total.complete:
        if should_stop is not None and should_stop():
            break
        counts = await session.fetch_value(
            name, imports_days=imports_days, anomalies_days=anomalies_days,
            chunk_size=chunk_size, max_chunks=1, **lock)
        if counts is None:
            return None if total.chunks == 0 else total
        total.staging_imports_deleted += int(counts["staging_imports_deleted"])
        total.import_anomalies_deleted += int(counts["import_anomalies_deleted"])
        total.chunks += int(counts["chunks"])
        total.complete = bool(counts["complete"])
    return total
