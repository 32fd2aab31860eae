"""What tests share besides the fixtures of `tests/conftest.py`: factories, the CLI harness and
the HTTP helpers. Import from here (`from tests.support import batch, run_cli`), never from a
conftest or another test module."""

from __future__ import annotations

from tests.support.cli import EXE, cli_env, run_cli, start_serve
from tests.support.console import (
    CHROMIUM,
    CHROMIUM_ARGS,
    PASSWORD,
    add_login,
    as_user,
    csrf_of,
)
from tests.support.factories import batch, create_login, create_tenant, project_row, submit
from tests.support.http import JWT_SECRET, LiveServer, bearer, free_port, user_token
from tests.support.webhook import WebhookReceiver

__all__ = ["CHROMIUM", "CHROMIUM_ARGS", "EXE", "JWT_SECRET", "PASSWORD", "LiveServer",
           "WebhookReceiver",
           "add_login", "as_user", "batch", "bearer", "cli_env", "create_login",
           "create_tenant", "csrf_of", "free_port", "project_row", "run_cli", "start_serve",
           "submit", "user_token"]
