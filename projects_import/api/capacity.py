"""How many connections the server may hold: `PROJECTS_IMPORT_MAX_CONNECTIONS`, but never more
than the process's file descriptors allow once the database pool, the import workers' pipes
and the process's own files have theirs.

Past the limit a connection is still accepted and answered 503 (`api/admission.py`), so some
descriptors are kept for those answers too; when even accepting fails (EMFILE), asyncio stops
accepting for a moment and new connections wait in the listen backlog — not reset.
"""

from __future__ import annotations

import contextlib
import os
import resource

from projects_import.settings import Settings

# The process's own descriptors: stdio, the listener, the embedded server's pipes, logs, the
# scheduler's database connection, the JWKS client...
BASE_FILES = 48
# Descriptors each import worker process costs the parent (pipes and its sentinel).
PER_WORKER = 4
# Kept past the limit for connections answered 503 and closed (at most this many).
REFUSAL_ROOM = 64


def raise_open_files_limit() -> int:
    """Lift the soft RLIMIT_NOFILE to the hard one (as far as 65,536) for `serve`; the limit
    the process then has."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 65_536 if hard == resource.RLIM_INFINITY else min(hard, 65_536)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        # on failure the soft limit stays; connection_limit() fits within it
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    return open_files_limit()


def open_files_limit() -> int:
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return 1 << 20 if soft == resource.RLIM_INFINITY else int(soft)


def reserved_files(settings: Settings) -> int:
    workers = settings.import_workers or max(1, min(2, os.cpu_count() or 1))
    return BASE_FILES + settings.pool_max_size + PER_WORKER * workers


def connection_limit(settings: Settings, open_files: int | None = None) -> int:
    """The connections admitted at once (see the module); at least 1."""
    available = (open_files_limit() if open_files is None else open_files) \
        - reserved_files(settings)
    room = min(REFUSAL_ROOM, max(0, available) // 4)
    return max(1, min(settings.max_connections, available - room))
