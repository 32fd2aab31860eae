"""Console helpers: dashboard logins, the session's form token, a transaction under a user's
claims, and the system Chromium the browser tests drive."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import psycopg

from tests.support.factories import create_login

PASSWORD = "correct horse battery"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]


def add_login(database_url: str, email: str, role: str, password: str = PASSWORD) -> None:
    """`create_login` in a thread of its own, so it works beside Playwright's event loop too."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(create_login, database_url, email, role, password).result()


def csrf_of(page: str) -> str:
    """The form token of a console page (every page has the sign-out form)."""
    match = re.search(r'name="csrf" value="([0-9a-f]{64})"', page)
    assert match, "the page has no form token"
    return match.group(1)


@contextmanager
def as_user(db: psycopg.Connection[Any], role: str,
            sub: str = "someone@example.com") -> Iterator[psycopg.Connection[Any]]:
    """A transaction run as `authenticated` with these claims, as the service runs reads."""
    claims = {"sub": sub, "role": "authenticated", "app_metadata": {"role": role}}
    with db.transaction():
        db.execute("select set_config('request.jwt.claims', %s, true)", (json.dumps(claims),))
        db.execute("set local role authenticated")
        yield db
