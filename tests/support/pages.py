"""For tests of the console's pages: signing in over HTTP, a staged batch re-run (what
`projects-import rerun` does), and for the browser tests the system Chromium, their marks and
`Watched`, the one page driver they share."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.console import CHROMIUM, CHROMIUM_ARGS, PASSWORD

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"  # git-ignored
PHONE = 500  # a viewport narrower than this is a phone's

# every browser module's `pytestmark`
BROWSER_TESTS = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.access(CHROMIUM, os.X_OK),
                       reason=f"{CHROMIUM} is not installed (run scripts/install-browser)"),
]


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


class Watched:
    """A page in a browser context of its own, `width` pixels wide (a phone's below `PHONE`),
    that records script errors and every request off this origin, even one the page's policy
    refused; `offline` aborts those that reach the network, in `blocked`. Screenshots go to
    `artifacts` and must show a page that fits its width."""

    def __init__(self, browser: Any, base: str, artifacts: Path = ARTIFACTS, *,
                 width: int = 1280, offline: bool = False, **options: Any) -> None:
        phone = width < PHONE
        self.context = browser.new_context(
            viewport={"width": width, "height": 844 if phone else 900}, is_mobile=phone,
            has_touch=phone, device_scale_factor=2 if phone else 1, **options)
        self.page = self.context.new_page()
        self.base, self.artifacts, self.width = base, artifacts, width
        self.errors: list[str] = []
        self.foreign: list[str] = []
        self.blocked: list[str] = []
        local = (base, "data:", f"blob:{base}")
        self.page.on("console",
                     lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: None if r.url.startswith(local)
                     else self.foreign.append(r.url))
        if offline:
            self.page.route("**/*", lambda route: route.continue_()
                            if route.request.url.startswith(local) else self._block(route))

    def _block(self, route: Any) -> None:
        self.blocked.append(route.request.url)
        route.abort()

    def sign_in(self, email: str, password: str = PASSWORD) -> None:
        """Sign in through the form; every role lands on the worklist."""
        self.page.goto(f"{self.base}/login")
        self.page.fill("#email", email)
        self.page.fill("#password", password)
        self.page.click("button[type=submit]")
        self.page.wait_for_url(f"{self.base}/dashboard/problems")

    def shot(self, name: str, *, full_page: bool = True, min_bytes: int = 10_000) -> Path:
        """Screenshot `name`.png; a blank page would be smaller than `min_bytes`."""
        self.artifacts.mkdir(parents=True, exist_ok=True)
        path = self.artifacts / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        assert path.stat().st_size > min_bytes, path
        self.assert_fits()
        return path

    def assert_fits(self) -> None:
        """The page does not scroll sideways in its viewport."""
        width = self.page.evaluate("document.documentElement.scrollWidth")
        assert width <= self.width, f"{self.page.url} is {width}px wide in a {self.width}px window"

    def assert_clean(self) -> None:
        assert self.errors == [], self.errors
        assert self.foreign == [], self.foreign
        assert self.blocked == [], self.blocked

    def close(self) -> None:
        self.context.close()
