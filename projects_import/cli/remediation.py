"""Remediation and operations verbs: backfill, rerun, cleanup, verify, smoke (SPEC §3, §5.6-5.7)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this module's verbs to the CLI."""
