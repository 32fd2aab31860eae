"""`projects-import tenant …` — tenants and their bearer secrets (SPEC §3), their freshness
and quarantine (SPEC §9)."""

from __future__ import annotations

from datetime import UTC
from typing import Annotated

import typer

from projects_import.cli import runtime
from projects_import.cli.imports import CLI_SUBJECT
from projects_import.tenant_status import TenantStatus
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
    """List tenants: time zone, valid secrets, last successful import (UTC), whether today's
    batch is late, and any pause with its reason."""
    config = runtime.settings()
    rows = runtime.run(config, lambda db: TenantStore(db).list())
    print(f"{'tenant':<24} {'timezone':<24} {'secrets':>7}  {'last success (UTC)':<18}  "
          f"{'late':<4}  paused")
    for row in rows:
        success = row["last_success_at"]
        shown = f"{success.astimezone(UTC):%Y-%m-%d %H:%M}" if success else "never"
        paused = (f"since {row['paused_at'].astimezone(UTC):%Y-%m-%d %H:%M}: "
                  f"{row['paused_reason']}" if row["paused"] else "no")
        print(f"{row['tenant_id']:<24} {row['timezone']:<24} {row['secrets']:>7}  "
              f"{shown:<18}  {'yes' if row['late'] else 'no':<4}  {paused}")


@tenant_app.command("pause")
def tenant_pause(
    tenant: Annotated[str, typer.Argument(help="Tenant id.")],
    reason: Annotated[str, typer.Option(help="Why (shown to the upstream in the 423 answer "
                                             "and to operators); 1-500 characters.")],
) -> None:
    """Quarantine a tenant: its imports answer 423 and stage nothing until `tenant resume`."""
    config = runtime.settings()
    if not reason.strip():
        runtime.fail("--reason must not be blank")
    result = runtime.run(config, lambda db: TenantStatus(db).pause(tenant, reason, CLI_SUBJECT))
    state = "paused" if result["changed"] else "was already paused"
    print(f"tenant {tenant} {state} since {result['paused_at']}: {result['paused_reason']}")


@tenant_app.command("resume")
def tenant_resume(tenant: Annotated[str, typer.Argument(help="Tenant id.")]) -> None:
    """Lift a tenant's quarantine: its imports are accepted again."""
    config = runtime.settings()
    result = runtime.run(config, lambda db: TenantStatus(db).resume(tenant, CLI_SUBJECT))
    print(f"tenant {tenant} {'resumed' if result['changed'] else 'was not paused'}")


@tenant_app.command("audit")
def tenant_audit(
    tenant: Annotated[str, typer.Argument(help="Tenant id.")],
    max_ended_share: Annotated[float | None, typer.Option(
        help="Hold a batch that ends more than this share of its projects' active "
             "memberships (0..1; default 0.2).", min=0, max=1)] = None,
    max_anomaly_share: Annotated[float | None, typer.Option(
        help="Hold a batch with more than this share of rows with an anomaly (0..1; "
             "default 0.5).", min=0, max=1)] = None,
    max_changed_share: Annotated[float | None, typer.Option(
        help="Hold a batch that changes the partner, DS or RM of more than this share of "
             "its existing projects (0..1; default 0.5).", min=0, max=1)] = None,
    min_rows: Annotated[int | None, typer.Option(
        help="Apply the limits only to batches touching at least this many existing "
             "projects (default 100).", min=0)] = None,
    off: Annotated[bool, typer.Option("--off", help="Publish every batch at once.")] = False,
    on: Annotated[bool, typer.Option("--on", help="Audit every new batch again.")] = False,
) -> None:
    """Show or change a tenant's audit limits (a batch over one is held for review)."""
    if off and on:
        runtime.fail("--off and --on exclude each other")
    config = runtime.settings()
    enabled = False if off else True if on else None
    audit = runtime.run(config, lambda db: TenantStatus(db).set_audit(
        tenant, enabled=enabled, max_ended_share=max_ended_share,
        max_anomaly_share=max_anomaly_share, max_changed_share=max_changed_share,
        min_rows=min_rows))
    state = "on" if audit["enabled"] else "off"
    print(f"tenant {tenant} audit {state}: max_ended_share {audit['max_ended_share']}, "
          f"max_anomaly_share {audit['max_anomaly_share']}, max_changed_share "
          f"{audit['max_changed_share']}, min_rows {audit['min_rows']}")
