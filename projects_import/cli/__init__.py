"""The `projects-import` command line (SPEC §3). Verbs are thin: they parse arguments and
call the same managers the HTTP service uses."""

from __future__ import annotations

import signal
import socket
import sys
from datetime import UTC
from pathlib import Path
from typing import Annotated

import typer

from projects_import.auth import ROLES, mint_token
from projects_import.cli import imports, remediation, runtime, send, users
from projects_import.cli.imports import CLI_SUBJECT
from projects_import.db import migrations
from projects_import.directories import COLUMNS, import_directory
from projects_import.tenant_status import TenantStatus
from projects_import.tenants import TenantStore, check_timezone

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  help="Idempotent per-tenant import of development projects into PostgreSQL.")
tenant_app = typer.Typer(no_args_is_help=True, help="Tenants and their bearer secrets.")
directory_app = typer.Typer(no_args_is_help=True, help="Partner, DS and RM directories.")
app.add_typer(tenant_app, name="tenant")
app.add_typer(directory_app, name="directory")
send.register(app)
remediation.register(app)
users.register(app)
imports.register(app)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on (0: any free port).",
                                      min=0, max=65535)] = 8000,
) -> None:
    """Apply pending migrations, start the HTTP service and print its URL."""
    import uvicorn

    from projects_import.alerts import WebhookConfigError, validate_webhook
    from projects_import.api.app import create_app

    config = runtime.settings()
    if config.alert_webhook:
        try:
            validate_webhook(config.alert_webhook)
        except WebhookConfigError as exc:
            runtime.fail(str(exc))
    listener = _listen(host, port)
    url = runtime.database_url(config)
    application = create_app(config, url)
    bound_port = listener.getsockname()[1]
    shown_host = f"[{host}]" if ":" in host else host
    print(f"projects-import listening on http://{shown_host}:{bound_port}", flush=True)
    server = uvicorn.Server(uvicorn.Config(application, log_level="warning", access_log=False,
                                           server_header=False))
    # uvicorn shuts down gracefully on SIGINT/SIGTERM, then re-raises the signal: let that
    # end the process normally so the embedded server below is stopped too.
    signal.signal(signal.SIGTERM, _exit_quietly)
    try:
        server.run(sockets=[listener])
    except KeyboardInterrupt:
        pass
    finally:
        listener.close()
        if not config.database_url:
            from projects_import.db import embedded

            embedded.stop_server(config.home)


def _exit_quietly(signum: int, frame: object) -> None:
    raise SystemExit(0)


def _listen(host: str, port: int) -> socket.socket:
    """Bind before announcing the URL, so a taken port is one clear error, not a false URL."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        return socket.create_server((host, port), family=family)
    except OSError as exc:
        runtime.fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}")


@app.command()
def migrate() -> None:
    """Apply pending migrations and exit."""
    config = runtime.settings()
    with runtime.expected_errors():
        url = runtime.database_url(config)
    applied = set(migrations.applied_versions(url))
    print(f"migrations current: {len(applied)} applied")


@tenant_app.command("add")
def tenant_add(
    tenant: Annotated[str, typer.Argument(help="Tenant id, e.g. TELCO.")],
    timezone: Annotated[str, typer.Option(help="IANA time zone for the daily schedule.")] = "UTC",
) -> None:
    """Create a tenant; its new bearer secret is the last line of stdout (shown once)."""
    config = runtime.settings()
    with runtime.expected_errors():
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


@app.command()
def token(
    sub: Annotated[str, typer.Option(help="Subject (user id).")],
    role: Annotated[str, typer.Option(help="operator, admin or viewer.")],
    ttl: Annotated[int, typer.Option(help="Lifetime in seconds.", min=1)] = 3600,
) -> None:
    """Print a signed user JWT (Supabase-shaped, HS256 with JWT_SECRET)."""
    if role not in ROLES:
        runtime.fail(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
    config = runtime.settings()
    print(mint_token(config.jwt_secret, sub=sub, role=role, ttl=ttl))


def main() -> None:
    """Run the CLI; a usage error is one `error:` line on stderr (exit 2), like other errors."""
    try:
        result = app(standalone_mode=False)
    except typer.Abort:
        print("aborted", file=sys.stderr)
        sys.exit(1)
    except typer.TyperException as exc:
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        command = getattr(getattr(exc, "ctx", None), "command_path", "projects-import")
        print(f"error: {message} (see `{command} --help`)", file=sys.stderr)
        sys.exit(getattr(exc, "exit_code", 2))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    sys.exit(result if isinstance(result, int) else 0)


__all__ = ["app", "main"]
