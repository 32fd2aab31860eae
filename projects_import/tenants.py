"""Tenants and their bearer secrets.

A secret reads `pit_<secret_id>.<random>` with 256 random bits. The id finds the stored row;
the whole secret is checked against its SHA-256 digest with a constant-time comparison. Only
the digest is stored, and the secret is shown once, when it is made. (A slow password hash
adds nothing for a 256-bit random secret, and would let any caller burn CPU per request.)
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import zoneinfo
from dataclasses import dataclass
from typing import Any

from projects_import.db.connection import Database
from projects_import.errors import ProjectsImportError
from projects_import.vocabulary import TENANT_ID as TENANT_ID  # the console routes import it here

_PREFIX = "pit_"
_SECRET = re.compile(r"^pit_([0-9a-f]{16})\.([A-Za-z0-9_-]{20,128})$")
_DIGEST_PREFIX = "sha256$"


class TenantError(ProjectsImportError):
    """A tenant operation that cannot be done, with a message fit for the user."""

    code = "tenant_error"


@dataclass(frozen=True)
class Tenant:
    tenant_id: str
    timezone: str


def secret_digest(secret: str) -> str:
    return _DIGEST_PREFIX + hashlib.sha256(secret.encode()).hexdigest()


def new_secret() -> tuple[str, str, str]:
    """(secret_id, full secret, stored digest of the secret)."""
    secret_id = secrets.token_hex(8)
    secret = f"{_PREFIX}{secret_id}.{secrets.token_urlsafe(32)}"
    return secret_id, secret, secret_digest(secret)


def check_timezone(name: str) -> str:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise TenantError(f"unknown time zone {name!r} (use an IANA name such as "
                          "Australia/Adelaide)") from exc
    return name


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
        async with self.db.transaction() as tx:
            if await tx.fetch_one("tenant_insert", tenant_id=tenant_id, timezone=timezone) is None:
                raise TenantError(f"tenant {tenant_id} already exists; use `tenant rotate` "
                                  "for a new secret")
            await tx.execute("tenant_secret_insert", tenant_id=tenant_id, secret_id=secret_id,
                             secret_hash=secret_hash)
        return secret

    async def rotate(self, tenant_id: str, grace_seconds: int) -> str:
        """A new secret; the current ones stay valid for `grace_seconds`."""
        secret_id, secret, secret_hash = new_secret()
        async with self.db.transaction() as tx:
            if await tx.fetch_one("tenant_get", tenant_id=tenant_id) is None:
                raise TenantError(f"no tenant {tenant_id}; create it with `tenant add`")
            await tx.execute("tenant_secrets_expire", tenant_id=tenant_id,
                             grace_seconds=grace_seconds)
            await tx.execute("tenant_secret_insert", tenant_id=tenant_id, secret_id=secret_id,
                             secret_hash=secret_hash)
        return secret

    async def list(self) -> list[dict[str, Any]]:
        return await self.db.fetch_all("tenant_list")

    async def get(self, tenant_id: str) -> Tenant | None:
        row = await self.db.fetch_one("tenant_get", tenant_id=tenant_id)
        return Tenant(row["tenant_id"], row["timezone"]) if row else None

    async def authenticate(self, bearer: str) -> str | None:
        """The tenant a bearer secret belongs to, or None. A bearer not shaped like a secret
        is refused without a database round trip; the digest comparison is constant-time."""
        match = _SECRET.match(bearer)
        if match is None:
            return None
        row = await self.db.fetch_one("tenant_secret_lookup", secret_id=match.group(1))
        if row is None:
            return None
        valid = hmac.compare_digest(row["secret_hash"], secret_digest(bearer))
        return str(row["tenant_id"]) if valid else None
