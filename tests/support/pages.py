"""For tests of the imports and tenants pages: signing in over HTTP, the system Chromium, and
a staged batch re-run (what `projects-import rerun` does)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import httpx

from tests.support.console import CHROMIUM, CHROMIUM_ARGS, PASSWORD


def rerun_batch(database_url: str, tenant_id: str, batch_id: uuid.UUID) -> None:
    """Re-merge a staged batch through the import manager; in a thread of its own, so it
    works beside Playwright's event loop too."""
    from projects_import.db.connection import Database
    from projects_import.imports.service import ImportService

    async def go() -> None:
        async with Database(database_url, max_size=1) as db:
            await ImportService(db).rerun(tenant_id, batch_id, max_rows=5000)

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, go()).result()


def sign_in(client: httpx.Client, origin: str, email: str,
            password: str = PASSWORD) -> httpx.Response:
    """Post the sign-in form as a browser on `origin` would."""
    return client.post("/login", data={"email": email, "password": password},
                       headers={"Origin": origin})


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
