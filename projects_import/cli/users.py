"""`projects-import user add` — dashboard logins (SPEC §3, §4.4)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this module's verbs to the CLI."""
