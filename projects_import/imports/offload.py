"""CPU-bound import work (decoding, validation, checksum, serialization: `prepare.py`) runs in
a small pool of worker processes, never in the service's process, so its event loop — health
checks, 429s, other tenants' requests — never waits for a batch being parsed, not even for the
interpreter lock.

One pool per process, shared by every app in it (tests run many), bounded: at most `size`
batches are prepared at once; more wait their turn. Workers are started from a `forkserver`
(never forked from the service, which runs an event loop and threads) that has imported
`prepare.py` once, and are started together and warmed when the service starts; they run
at a lower CPU priority than the service's process. A worker
that dies (killed, out of memory) breaks the pool: it is rebuilt at once, and the requests
whose work was lost answer 503 `worker_unavailable` with `Retry-After` (retryable; nothing
was written). Workers exit with the service's process, even when it is killed.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import multiprocessing
import os
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, TypeVar

from projects_import.errors import ProjectsImportError

T = TypeVar("T")

DEFAULT_SIZE = max(1, min(2, os.cpu_count() or 1))
# Imported once by the forkserver, shared by every worker forked from it: only what a worker
# runs (the contract and the decoding, about 18 MB), not the web stack.
_PRELOAD = ["projects_import.imports.prepare"]
# The console script `serve` runs as. multiprocessing re-runs a main *script* in every worker,
# which for this one imports the whole CLI and web stack (about 60 MB more per worker).
_CONSOLE_SCRIPT = "projects-import"
# Workers yield the CPU to the service's process (its event loop answers health checks and
# 429s) and to PostgreSQL when the cores are busy; alone, they run at full speed.
WORKER_NICENESS = 5


class WorkerUnavailable(ProjectsImportError):
    """The worker process preparing the request died (HTTP 503, retryable)."""

    code = "worker_unavailable"
    http_status = 503
    RETRY_AFTER_SECONDS = 2

    def __init__(self) -> None:
        super().__init__(
            "the worker process preparing this request stopped; nothing was written. Send it "
            f"again after {self.RETRY_AFTER_SECONDS} s",
            headers={"Retry-After": str(self.RETRY_AFTER_SECONDS)})


def _main_as_package() -> None:
    """When the service runs as the `projects-import` console script, name its main module
    as `python -m projects_import` does (`projects_import.__main__`, which is all the script
    runs): multiprocessing then leaves a package's `__main__` alone in a worker instead of
    re-running the script there."""
    main = sys.modules.get("__main__")
    if (main is not None and getattr(main, "__spec__", None) is None
            and Path(getattr(main, "__file__", "") or "").name == _CONSOLE_SCRIPT):
        main.__spec__ = importlib.util.find_spec("projects_import.__main__")


def _context() -> Any:
    _main_as_package()
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    if context.get_start_method() == "forkserver":
        context.set_forkserver_preload(_PRELOAD)
    return context


def _worker_start(lifeline: Connection) -> None:
    """In each worker: a lower CPU priority, and exit when the service's process does."""
    with contextlib.suppress(OSError):
        os.nice(WORKER_NICENESS)
    threading.Thread(target=_exit_with_service, args=(lifeline,), name="lifeline",
                     daemon=True).start()


def _exit_with_service(lifeline: Connection) -> None:
    """Wait for the end of the service's process — even a SIGKILL closes its end of the pipe —
    then exit: a worker waiting for calls would otherwise never notice (the pool's queues are
    pipes every worker holds both ends of), nor would the forkserver it keeps alive."""
    with contextlib.suppress(EOFError, OSError):
        lifeline.recv_bytes()
    os._exit(0)


def _ready() -> int:
    return os.getpid()


class ImportWorkers:
    """The process pool, rebuilt when a worker dies. Thread-safe: every event loop of the
    process (one per test server) may use it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._executor: ProcessPoolExecutor | None = None
        self.size = DEFAULT_SIZE
        self._pending = 0
        # only this process holds the sending end: it closes when the process ends, however
        self._lifeline: tuple[Connection, Connection] | None = None

    @property
    def pending(self) -> int:
        """Calls submitted and not finished yet (running or waiting for a worker)."""
        return self._pending

    def start(self, size: int | None = None) -> None:
        """Start `size` workers now (all of them, warmed) unless they run already; another
        size replaces the pool."""
        with self._lock:
            if size is not None and size != self.size:
                self._close(wait=True)
                self.size = size
            if self._executor is not None:
                return
            executor = self._open()
        # one call per worker at once: the pool starts a worker per call that finds none idle
        for future in [executor.submit(_ready) for _ in range(self.size)]:
            future.result(timeout=60)

    def _open(self) -> ProcessPoolExecutor:
        if self._lifeline is None:
            self._lifeline = multiprocessing.Pipe(duplex=False)
        self._executor = ProcessPoolExecutor(max_workers=self.size, mp_context=_context(),
                                             initializer=_worker_start,
                                             initargs=(self._lifeline[0],))
        return self._executor

    def _close(self, *, wait: bool) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=wait, cancel_futures=True)
            self._executor = None

    def _submit(self, fn: Callable[..., T], args: tuple[Any, ...],
                kwargs: dict[str, Any]) -> tuple[ProcessPoolExecutor, Future[T]]:
        with self._lock:
            executor = self._executor or self._open()
            try:
                future = executor.submit(fn, *args, **kwargs)
            except BrokenProcessPool:
                # it broke while idle: nothing of this call was lost, run it on a new pool
                self._close(wait=False)
                executor = self._open()
                future = executor.submit(fn, *args, **kwargs)
            self._pending += 1
            return executor, future

    def _done(self) -> None:
        with self._lock:
            self._pending -= 1

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._executor is broken:
                self._close(wait=False)
                self._open()

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """`fn(*args, **kwargs)` in a worker process (arguments and result pickled); its
        exception is raised here; WorkerUnavailable when the worker died meanwhile."""
        executor, future = self._submit(fn, args, kwargs)
        try:
            return await asyncio.wrap_future(future)
        except BrokenProcessPool as exc:
            self._replace(executor)
            raise WorkerUnavailable() from exc
        finally:
            self._done()

    def pids(self) -> list[int]:
        """The worker processes' ids (for monitoring and tests)."""
        executor = self._executor
        processes = getattr(executor, "_processes", None) or {}
        return sorted(processes)

    def shutdown(self) -> None:
        """Stop the workers (the service is stopping); a later call starts them again."""
        with self._lock:
            self._close(wait=True)


workers = ImportWorkers()
