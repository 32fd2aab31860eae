"""The console's imports and tenants pages, and /docs and /redoc, in a real headless Chromium
(issue 8). Full-page screenshots go to test-artifacts/ for people to look at.

/docs and /redoc render with every request to anywhere but this service aborted: the API
documentation works on a host without internet.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.acceptance.test_dashboard_browser import ARGS, CHROMIUM

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.access(CHROMIUM, os.X_OK),
                       reason=f"{CHROMIUM} is not installed (run scripts/install-browser)"),
]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture
def browser() -> Iterator[Any]:
    """Request it after fixtures that run asyncio: Playwright's sync API holds the loop."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield chromium
        chromium.close()


def _offline_page(browser: Any, base: str) -> tuple[Any, list[str]]:
    """A page whose every request outside `base` is aborted (and remembered)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    blocked: list[str] = []

    def only_local(route: Any) -> None:
        url = route.request.url
        if url.startswith((base, "data:", "blob:")):
            route.continue_()
        else:
            blocked.append(url)
            route.abort()

    page.route("**/*", only_local)
    return page, blocked


def test_swagger_ui_renders_every_operation_offline(live_server: Any, browser: Any) -> None:
    page, blocked = _offline_page(browser, live_server.url)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{live_server.url}/docs")
    page.wait_for_selector(".opblock", timeout=20_000)
    operations = page.locator(".opblock")
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert operations.count() >= 8
    assert "/import-projects" in paths and "/imports" in paths
    assert "/imports/{import_id}" in [p.replace("\u200b", "") for p in paths]
    assert page.locator(".swagger-ui .info .title").inner_text().startswith("projects-import")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "docs-swagger-offline.png"), full_page=False)
    assert blocked == [] and errors == []
    page.context.close()


def test_redoc_renders_offline(live_server: Any, browser: Any) -> None:
    page, blocked = _offline_page(browser, live_server.url)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{live_server.url}/redoc")
    page.locator("h2", has_text="Import requests, newest first").wait_for(timeout=20_000)
    assert page.locator("h2", has_text="Import one batch of projects").count() == 1
    assert "projects-import" in page.locator("h1").first.inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "docs-redoc-offline.png"), full_page=False)
    # ReDoc's "API docs by Redocly" footer links its logo from the vendor's site; only that
    # decoration may be missing offline
    assert all(url.endswith("/logo-mini.svg") for url in blocked), blocked
    assert errors == []
    page.context.close()
