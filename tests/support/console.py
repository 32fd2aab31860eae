"""The console in tests: logins, signing in over HTTP, the session's CSRF token, the system
Chromium for browser tests, and a batch re-run (what `projects-import rerun` does)."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import httpx

PASSWORD = "correct horse battery"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]


def _in_thread(work: Any) -> Any:
    """Run a coroutine to the end in a thread of its own: Playwright's sync API may hold
    this thread's event loop."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, work).result()


def add_login(database_url: str, email: str, role: str, password: str = PASSWORD) -> None:
    """A dashboard login, through the manager `projects-import user add` uses."""
    from projects_import.db.connection import Database
    from projects_import.users import UserStore

    async def add() -> None:
        async with Database(database_url, max_size=1) as database:
            await UserStore(database).add(email, role, password)

    _in_thread(add())


def rerun_batch(database_url: str, tenant_id: str, batch_id: uuid.UUID) -> None:
    """Re-merge a staged batch, as `projects-import rerun` does."""
    from projects_import.db.connection import Database
    from projects_import.imports.service import ImportService

    async def go() -> None:
        async with Database(database_url, max_size=1) as db:
            await ImportService(db).rerun(tenant_id, batch_id, max_rows=5000)

    _in_thread(go())


def sign_in(client: httpx.Client, origin: str, email: str,
            password: str = PASSWORD) -> httpx.Response:
    """Post the sign-in form as a browser on `origin` would."""
    return client.post("/login", data={"email": email, "password": password},
                       headers={"Origin": origin})


def csrf_of(page: str) -> str:
    """The session's CSRF token from a page's forms."""
    match = re.search(r'name="csrf" value="([0-9a-f]{64})"', page)
    assert match, "the page has no form with a CSRF token"
    return match.group(1)


@contextmanager
def chromium() -> Iterator[Any]:
    """The system's headless Chromium through Playwright (which never downloads a browser
    here). Start it after fixtures that run asyncio: the sync API holds the loop."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
