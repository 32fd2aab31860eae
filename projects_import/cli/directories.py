"""`projects-import directory import` — partner, DS and RM directories from CSV (SPEC §3)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from projects_import.cli import runtime
from projects_import.directories import COLUMNS, import_directory

directory_app = typer.Typer(no_args_is_help=True, help="Partner, DS and RM directories.")


def register(app: typer.Typer) -> None:
    """Add this module's verbs to the CLI."""
    app.add_typer(directory_app, name="directory")


@directory_app.command("import")
def directory_import(
    kind: Annotated[str, typer.Argument(help="partners, ds or rm.")],
    file: Annotated[Path, typer.Argument(help="CSV with a header row.", exists=False)],
    tenant: Annotated[str, typer.Option(help="Tenant id.")],
) -> None:
    """Upsert directory rows from CSV (partners: alias,canonical; ds: preferred_username,
    display_name,active; rm: display_name,preferred_username,active)."""
    if kind not in COLUMNS:
        runtime.fail(f"unknown directory {kind!r}; use partners, ds or rm")
    config = runtime.settings()
    result = runtime.run(config, lambda db: import_directory(db, kind, tenant, file))
    print(f"{kind}: {result.rows} rows read, {result.changed} inserted or changed "
          f"for tenant {tenant}")
