"""The membership backfill (SPEC §5.6): `fn_projects_membership_backfill` brings projects and
memberships in line with today's directories, for one tenant or all."""

from __future__ import annotations

from projects_import.db.connection import Database
from projects_import.errors import InvalidInput

BACKFILL_COUNTS = (
    "projects_updated", "org_memberships_added", "user_memberships_added",
    "org_memberships_ended", "user_memberships_ended", "memberships_ended",
    "anomalies_resolved",
)


class UnknownTenant(InvalidInput):
    """The backfill was asked for a tenant that does not exist."""

    code = "unknown_tenant"


async def backfill(db: Database, tenant_id: str | None = None) -> dict[str, int]:
    """Run the backfill in one transaction; its counts, the documented ones first."""
    try:
        async with db.transaction() as tx:
            counts: dict[str, int] = await tx.fetch_value("membership_backfill",
                                                          tenant_id=tenant_id)
    except InvalidInput as exc:
        raise UnknownTenant(f"unknown tenant {tenant_id}") from exc
    ordered = {name: counts[name] for name in BACKFILL_COUNTS if name in counts}
    return {**ordered, **counts}
