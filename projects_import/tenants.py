"""Tenants and their bearer secrets.

A secret reads `pit_<secret_id>.<random>`. The id finds the stored row; the random part is
checked against an argon2 hash (constant-time by construction). Only the hash is stored, and
the secret is shown once, when it is made.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import zoneinfo
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from projects_import.db.connection import Database
from projects_import.db.queries import query

_PREFIX = "pit_"
_SECRET = re.compile(r"^pit_([0-9a-f]{16})\.([A-Za-z0-9_-]{20,128})$")
TENANT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
# Bearer secrets are long random strings, not passwords: modest argon2 cost is plenty.
_hasher = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)
_UNUSABLE_HASH = _hasher.hash(secrets.token_urlsafe(32))


class TenantError(Exception):
    """A tenant operation that cannot be done, with a message fit for the user."""


@dataclass(frozen=True)
class Tenant:
    tenant_id: str
    timezone: str


def new_secret() -> tuple[str, str, str]:
    """(secret_id, full secret, argon2 hash of the secret)."""
    secret_id = secrets.token_hex(8)
    secret = f"{_PREFIX}{secret_id}.{secrets.token_urlsafe(32)}"
    return secret_id, secret, _hasher.hash(secret)


def check_timezone(name: str) -> str:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise TenantError(f"unknown time zone {name!r} (use an IANA name such as "
                          "Australia/Adelaide)") from exc
    return name


def _verify(secret_hash: str, secret: str) -> bool:
    try:
        return _hasher.verify(secret_hash, secret)
    except (VerificationError, InvalidHashError):
        return False


class TenantStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, tenant_id: str, timezone: str = "UTC") -> str:
        """Create the tenant and return its first bearer secret."""
        if not TENANT_ID.match(tenant_id):
            raise TenantError("a tenant id is 1-64 letters, digits, '_', '.', ':' or '-', "
                              "starting with a letter or digit")
        check_timezone(timezone)
        secret_id, secret, secret_hash = new_secret()
        async with self.db.transaction() as conn:
            cur = await conn.execute(query("tenant_insert"),
                                     {"tenant_id": tenant_id, "timezone": timezone})
            if await cur.fetchone() is None:
                raise TenantError(f"tenant {tenant_id} already exists; use `tenant rotate` "
                                  "for a new secret")
            await conn.execute(query("tenant_secret_insert"), {
                "tenant_id": tenant_id, "secret_id": secret_id, "secret_hash": secret_hash})
        return secret

    async def rotate(self, tenant_id: str, grace_seconds: int) -> str:
        """A new secret; the current ones stay valid for `grace_seconds`."""
        secret_id, secret, secret_hash = new_secret()
        async with self.db.transaction() as conn:
            cur = await conn.execute(query("tenant_get"), {"tenant_id": tenant_id})
            if await cur.fetchone() is None:
                raise TenantError(f"no tenant {tenant_id}; create it with `tenant add`")
            await conn.execute(query("tenant_secrets_expire"),
                               {"tenant_id": tenant_id, "grace_seconds": grace_seconds})
            await conn.execute(query("tenant_secret_insert"), {
                "tenant_id": tenant_id, "secret_id": secret_id, "secret_hash": secret_hash})
        return secret

    async def list(self) -> list[dict[str, Any]]:
        async with self.db.pool.connection() as conn:
            cur = await conn.execute(query("tenant_list"))
            return await cur.fetchall()

    async def get(self, tenant_id: str) -> Tenant | None:
        async with self.db.pool.connection() as conn:
            cur = await conn.execute(query("tenant_get"), {"tenant_id": tenant_id})
            row = await cur.fetchone()
        return Tenant(row["tenant_id"], row["timezone"]) if row else None

    async def authenticate(self, bearer: str) -> str | None:
        """The tenant a bearer secret belongs to, or None. Takes the same time for an
        unknown secret id as for a wrong secret, so ids cannot be probed."""
        match = _SECRET.match(bearer)
        secret_id = match.group(1) if match else ""
        async with self.db.pool.connection() as conn:
            cur = await conn.execute(query("tenant_secret_lookup"), {"secret_id": secret_id})
            row = await cur.fetchone()
        secret_hash = row["secret_hash"] if row else _UNUSABLE_HASH
        valid = await asyncio.to_thread(_verify, secret_hash, bearer)
        return row["tenant_id"] if row and valid else None
