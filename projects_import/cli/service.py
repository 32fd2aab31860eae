"""`projects-import serve`, `migrate` and `token` — running the service (SPEC §3)."""

from __future__ import annotations

import signal
import socket
import sys
from typing import Annotated

import typer

from projects_import.auth import mint_token
from projects_import.cli import runtime
from projects_import.db import migrations
from projects_import.vocabulary import ROLES


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on (0: any free port).",
                                      min=0, max=65535)] = 8000,
) -> None:
    """Apply pending migrations, start the HTTP service and print its URL."""
    import uvicorn

    from projects_import.alerting.engine import AlertConfig
    from projects_import.api.app import create_app
    from projects_import.api.capacity import connection_limit, raise_open_files_limit
    from projects_import.api.server import uvicorn_config
    from projects_import.imports.offload import workers

    config = runtime.settings()
    AlertConfig.from_settings(config)  # both webhooks: https, or http to a loopback address
    open_files = raise_open_files_limit()
    if connection_limit(config) < config.max_connections:
        print(f"projects-import: at most {connection_limit(config)} connections at once, not "
              f"PROJECTS_IMPORT_MAX_CONNECTIONS={config.max_connections}: the process may "
              f"open {open_files} files (ulimit -n)", file=sys.stderr, flush=True)
    listener = _listen(host, port)
    url = runtime.database_url(config)
    application = create_app(config, url)
    bound_port = listener.getsockname()[1]
    shown_host = f"[{host}]" if ":" in host else host
    print(f"projects-import listening on http://{shown_host}:{bound_port}", flush=True)
    server = uvicorn.Server(uvicorn_config(application, config, log_level="warning",
                                           access_log=False, server_header=False))
    # uvicorn shuts down gracefully on SIGINT/SIGTERM, then re-raises the signal: let that
    # end the process normally so the embedded server below is stopped too.
    signal.signal(signal.SIGTERM, _exit_quietly)
    try:
        server.run(sockets=[listener])
    except KeyboardInterrupt:
        pass
    finally:
        listener.close()
        workers.shutdown()
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


def migrate() -> None:
    """Apply pending migrations and exit."""
    config = runtime.settings()
    url = runtime.database_url(config)
    applied = set(migrations.applied_versions(url))
    print(f"migrations current: {len(applied)} applied")


def token(
    sub: Annotated[str, typer.Option(help="Subject (user id).")],
    role: Annotated[str, typer.Option(help="operator, admin or viewer.")],
    ttl: Annotated[int, typer.Option(help="Lifetime in seconds.", min=1)] = 3600,
) -> None:
    """Print a signed user JWT (Supabase-shaped, HS256 with JWT_SECRET)."""
    if role not in ROLES:
        runtime.fail(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
    config = runtime.settings()
    print(mint_token(config.jwt_secret, sub=sub, role=role, ttl=ttl,
                     audience=config.jwt_audiences[0], issuer=config.jwt_issuer))


def register(app: typer.Typer) -> None:
    """Add this module's verbs to the CLI."""
    for verb in (serve, migrate, token):
        app.command()(verb)
