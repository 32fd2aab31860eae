"""CPU-bound import work (decoding, validation, checksum, JSON serialization) runs in a small
pool of worker threads, never on the event loop, so health checks, 429s and other tenants'
requests keep answering while a large batch is parsed.

The pool is bounded: at most WORKERS batches are parsed at once; more wait their turn.
"""

from __future__ import annotations

import asyncio
import functools
import os
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

WORKERS = max(1, min(4, os.cpu_count() or 1))
_executor = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="projects-import-cpu")


async def run_cpu_bound(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """`fn(*args, **kwargs)` in a worker thread; its exception is raised here."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_executor, functools.partial(fn, *args, **kwargs))

# The worker threads share the GIL with the event loop; hand it back every millisecond
# (instead of every 5) so the loop keeps answering while a batch is parsed.
sys.setswitchinterval(0.001)
