"""Dashboard logins and their server-side sessions (SPEC §4.4).

Passwords are stored as argon2 hashes only. A session is a random token carried by the
browser's cookie; the database keeps only its SHA-256, so a copy of the table signs nobody in.
Users are operators across tenants, so they are not keyed by tenant (see migration 0007).
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from typing import Any, TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from projects_import.auth import claims_for
from projects_import.db.connection import Database
from projects_import.errors import ProjectsImportError
from projects_import.vocabulary import ROLES

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024
SESSION_LIFETIME = timedelta(hours=12)
_EMAIL = re.compile(r"^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+$")
_hasher = PasswordHasher()
# argon2 takes 64 MiB per hash for its duration: at most this many at once, whatever the
# number of sign-ins waiting, so memory stays bounded under a flood.
PASSWORD_WORKERS = 1
_password_work = ThreadPoolExecutor(max_workers=PASSWORD_WORKERS,
                                    thread_name_prefix="projects-import-argon2")
T = TypeVar("T")


async def _in_password_worker(fn: Callable[..., T], *args: Any) -> T:
    return await asyncio.get_running_loop().run_in_executor(_password_work, fn, *args)


@cache
def _unusable_hash() -> str:
    """Verified when the email is unknown, so a wrong email costs the same time as a wrong
    password. Built on first use, not at import."""
    return _hasher.hash(secrets.token_urlsafe(32))


class UserError(ProjectsImportError):
    """A login operation that cannot be done, with a message fit for the user."""

    code = "user_error"


@dataclass(frozen=True)
class User:
    email: str
    role: str

    @property
    def claims(self) -> dict[str, Any]:
        """Supabase-shaped JWT claims, so database reads run under this user's role (RLS)."""
        return claims_for(self.email, self.role)


def normalize_email(email: str) -> str:
    value = email.strip().lower()
    if len(value) > 254 or not _EMAIL.match(value):
        raise UserError(f"{email.strip()!r} is not an email address")
    return value


_ROLE = re.compile(r"^[a-z][a-z0-9_.-]{0,31}$")


def check_role(role: str) -> str:
    """operator and admin see the dashboard; any other role (viewer, member, …) signs in and
    sees "Access denied"."""
    if not _ROLE.match(role):
        raise UserError(f"invalid role {role!r}: 1-32 lower-case letters, digits, '_', '.' or "
                        f"'-', such as {', '.join(ROLES)}")
    return role


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"the password is too short: use at least {MIN_PASSWORD_LENGTH} "
                        "characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise UserError(f"the password is too long: use at most {MAX_PASSWORD_LENGTH} "
                        "characters")
    return password


def token_digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


class UserStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, email: str, role: str, password: str, *, update: bool = False) -> bool:
        """Create the login (or, with `update`, change its password and role, which ends
        its sessions). Returns True when it was created."""
        email = normalize_email(email)
        check_role(role)
        password_hash = await _in_password_worker(_hasher.hash, check_password(password))
        params = {"email": email, "role": role, "password_hash": password_hash}
        async with self.db.transaction() as tx:
            if await tx.fetch_one("dashboard_user_insert", **params) is not None:
                return True
            if not update:
                raise UserError(f"dashboard user {email} already exists; pass --update to "
                                "change its password and role")
            await tx.execute("dashboard_user_update", **params)
            await tx.execute("dashboard_sessions_end_for_user", email=email)
        return False

    async def remove(self, email: str) -> None:
        """Delete the login; its sessions end with it."""
        email = normalize_email(email)
        if await self.db.fetch_one("dashboard_user_delete", email=email) is None:
            raise UserError(f"no dashboard user {email}")

    async def list(self) -> list[dict[str, Any]]:
        """Every login: email, role, created_at, locked_until (None unless locked now)."""
        return await self.db.fetch_all("dashboard_user_list")

    async def authenticate(self, email: str, password: str) -> User | None:
        """The user these credentials sign in, or None. Known and unknown emails take the same
        steps; guessing is slowed before this is called (`api/throttle.py`), never by a
        lockout someone else could keep renewing."""
        try:
            email = normalize_email(email)
        except UserError:
            email = ""
        row = await self.db.fetch_one("dashboard_user_get", email=email)
        password_hash = (row["password_hash"] if row
                         else await _in_password_worker(_unusable_hash))
        valid = await _in_password_worker(_verify, password_hash, password)
        if row is None or not valid:
            # the same round trip for an unknown email (it updates nothing): same time
            await self.db.execute("dashboard_user_login_failed", email=email)
            return None
        new_hash = None
        if _hasher.check_needs_rehash(row["password_hash"]):  # hashing parameters changed
            new_hash = await _in_password_worker(_hasher.hash, password)
        await self.db.execute("dashboard_user_login_succeeded", email=email,
                              password_hash=new_hash)
        return User(row["email"], row["role"])

    async def create_session(self, user: User) -> str:
        """A new session token for the cookie (shown once; only its hash is stored)."""
        token = secrets.token_urlsafe(32)
        async with self.db.transaction() as tx:
            await tx.execute("dashboard_sessions_purge_expired")
            await tx.execute("dashboard_session_insert", token_sha256=token_digest(token),
                             email=user.email,
                             lifetime_seconds=int(SESSION_LIFETIME.total_seconds()))
        return token

    async def session_user(self, token: str) -> User | None:
        """The user a live session token belongs to (with the role the login has now)."""
        if not token:
            return None
        row = await self.db.fetch_one("dashboard_session_user", token_sha256=token_digest(token))
        return User(row["email"], row["role"]) if row else None

    async def end_session(self, token: str) -> None:
        await self.db.execute("dashboard_session_delete", token_sha256=token_digest(token))
