"""The browser tests' Chromium (see tests/support/pages.py for their page driver)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.pages import chromium


@pytest.fixture
def browser() -> Iterator[Any]:
    """The system's headless Chromium, closed after the test. Request it after fixtures that
    run asyncio (tenant, imports, logins): Playwright's sync API holds the loop."""
    with chromium() as launched:
        yield launched
