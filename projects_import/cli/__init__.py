"""The `projects-import` command line (SPEC §3). This module only wires the verb groups; each
lives in its own module, parses arguments and calls the same managers the HTTP service uses.
Expected errors become one `error:` line in one place (`runtime.CommandGroup`)."""

from __future__ import annotations

import sys

import typer

from projects_import.cli import (
    directories,
    imports,
    operations,
    problems,
    runtime,
    send,
    service,
    tenants,
    users,
)

app = typer.Typer(cls=runtime.CommandGroup, no_args_is_help=True, add_completion=False,
                  pretty_exceptions_enable=False,
                  help="Idempotent per-tenant import of development projects into PostgreSQL.")
for group in (service, tenants, imports, problems, directories, send, operations, users):
    group.register(app)


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
