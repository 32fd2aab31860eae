"""`projects-import tenant …` — tenants and their bearer secrets (SPEC §3)."""

from __future__ import annotations

from typing import Annotated

import typer

from projects_import.cli import runtime
from projects_import.tenants import TenantStore, check_timezone

tenant_app = typer.Typer(no_args_is_help=True, help="Tenants and their bearer secrets.")


def register(app: typer.Typer) -> None:
    """Add this module's verbs to the CLI."""
    app.add_typer(tenant_app, name="tenant")


@tenant_app.command("add")
def tenant_add(
    tenant: Annotated[str, typer.Argument(help="Tenant id, e.g. TELCO.")],
    timezone: Annotated[str, typer.Option(help="IANA time zone for the daily schedule.")] = "UTC",
) -> None:
    """Create a tenant; its new bearer secret is the last line of stdout (shown once)."""
    config = runtime.settings()
    check_timezone(timezone)
    secret = runtime.run(config, lambda db: TenantStore(db).add(tenant, timezone))
    print(f"created tenant {tenant} ({timezone}); bearer secret (shown once):")
    print(secret)


@tenant_app.command("rotate")
def tenant_rotate(
    tenant: Annotated[str, typer.Argument(help="Tenant id.")],
    grace_hours: Annotated[float, typer.Option(
        help="How long the old secret stays valid (0..8760 hours).", min=0, max=8760)] = 24,
) -> None:
    """Issue a new bearer secret; the old one stays valid for the grace period."""
    config = runtime.settings()
    seconds = int(grace_hours * 3600)
    secret = runtime.run(config, lambda db: TenantStore(db).rotate(tenant, seconds))
    print(f"rotated tenant {tenant}; the previous secret expires in {grace_hours:g} h; "
          "new bearer secret (shown once):")
    print(secret)


@tenant_app.command("list")
def tenant_list() -> None:
    """List tenants, their time zones and how many secrets are valid."""
    config = runtime.settings()
    rows = runtime.run(config, lambda db: TenantStore(db).list())
    print(f"{'tenant':<24} {'timezone':<24} {'secrets':>7}  created")
    for row in rows:
        print(f"{row['tenant_id']:<24} {row['timezone']:<24} {row['secrets']:>7}  "
              f"{row['created_at']:%Y-%m-%d %H:%M}")
