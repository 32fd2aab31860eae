"""`projects-import send` — the upstream client (SPEC §8)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command("send")
    def send() -> None:
        """Send a CSV or JSON export to POST /import-projects (not built yet)."""
        raise typer.Exit(1)
