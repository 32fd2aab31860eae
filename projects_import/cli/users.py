"""`projects-import user …` — dashboard logins (SPEC §3, §4.4)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from projects_import.cli import runtime
from projects_import.users import UserStore, check_password, check_role
from projects_import.vocabulary import ROLES

user_app = typer.Typer(no_args_is_help=True, help="Dashboard logins.")


def register(app: typer.Typer) -> None:
    """Add this module's verbs to the CLI."""
    app.add_typer(user_app, name="user")


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.read().rstrip("\r\n")
    if not sys.stdin.isatty():
        runtime.fail("no terminal to prompt for the password; pipe it in with --password-stdin")
    password: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


@user_app.command("add")
def user_add(
    email: Annotated[str, typer.Argument(help="The login's email address.")],
    role: Annotated[str, typer.Option(
        help=f"{', '.join(ROLES)} or another role name (only operator and admin see the "
             "dashboard).")],
    password_stdin: Annotated[bool, typer.Option(
        "--password-stdin", help="Read the password from stdin instead of a prompt.")] = False,
    update: Annotated[bool, typer.Option(
        "--update", help="Change an existing login's password and role (ends its "
                         "sessions).")] = False,
) -> None:
    """Create a dashboard login (password from a prompt, or stdin with --password-stdin)."""
    check_role(role)
    password = check_password(_read_password(password_stdin))
    config = runtime.settings()
    created = runtime.run(
        config, lambda db: UserStore(db).add(email, role, password, update=update))
    action = "created" if created else "updated"
    print(f"{action} dashboard user {email.strip().lower()} ({role})")


@user_app.command("list")
def user_list() -> None:
    """List dashboard logins and their roles."""
    config = runtime.settings()
    users = runtime.run(config, lambda db: UserStore(db).list())
    if not users:
        print("no dashboard users")
        return
    print(f"{'email':<48} {'role':<8} lock")
    for user in users:
        locked = (f"  locked until {user['locked_until']:%Y-%m-%d %H:%M %Z}"
                  if user["locked_until"] else "")
        print(f"{user['email']:<48} {user['role']:<8}{locked}".rstrip())


@user_app.command("remove")
def user_remove(
    email: Annotated[str, typer.Argument(help="The login's email address.")],
) -> None:
    """Delete a dashboard login; its browser sessions end at once."""
    config = runtime.settings()
    runtime.run(config, lambda db: UserStore(db).remove(email))
    print(f"removed dashboard user {email.strip().lower()}")
