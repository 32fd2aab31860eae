"""The in-process scheduler for the daily retention job (SPEC §5.7)."""

from __future__ import annotations

from typing import Any

from projects_import.settings import Settings


def start_scheduler(settings: Settings, database_url: str) -> Any:
    """Start the retention scheduler; returns a handle with `.shutdown()`, or None."""
    return None
