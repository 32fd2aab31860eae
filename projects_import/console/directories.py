"""Directory browsing, edits and one-click fixes from the console.

Reads run under the user's claims (row-level security: operators and admins read); writes go
through the admin-only SECURITY DEFINER functions of migration 0024, and in the same
transaction `fn_directory_change_apply` re-resolves the projects the change affects, so a
fix and its effect commit together or not at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from projects_import.console.errors import ConsoleError
from projects_import.console.retry import retried_once
from projects_import.db.connection import Database
from projects_import.vocabulary import MAX_STRING, directory_key

DIRECTORIES = {"partners": "Partner aliases", "ds": "Deployment specialists",
               "rm": "Relationship managers"}
PAGE_SIZE = 200


@dataclass(frozen=True)
class ChangeResult:
    """One directory write: the audit row's id (None when nothing changed) and its effect."""

    change_id: int | None
    action: str | None
    effect: dict[str, Any]

    @property
    def problems_resolved(self) -> int:
        return int(self.effect.get("problems_resolved", 0))


def clean_text(name: str, value: str | None, *, required: bool = True) -> str | None:
    """A trimmed form value, or a ConsoleError naming the field. Blank is judged by the
    directories' matching key (`directory_key`, SQL's fn_directory_key), as the database
    keys what the form writes."""
    text = (value or "").strip()
    if directory_key(text) is None:
        if required:
            raise ConsoleError(f"{name} must not be blank")
        return None
    if len(text) > MAX_STRING:
        raise ConsoleError(f"{name} must be at most {MAX_STRING} characters")
    if any(ord(c) < 32 for c in text):
        raise ConsoleError(f"{name} must not contain control characters")
    return text


def check_directory(directory: str) -> str:
    if directory not in DIRECTORIES:
        raise ConsoleError(f"directory must be one of {', '.join(DIRECTORIES)}, "
                           f"not {directory[:40]!r}")
    return directory


class DirectoryConsole:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def _read(self, claims: Mapping[str, Any], name: str,
                    **params: Any) -> list[dict[str, Any]]:
        async with self.db.user_transaction(claims, read_only=True) as tx:
            return await tx.fetch_all(name, **params)

    async def tenants(self, claims: Mapping[str, Any]) -> list[dict[str, Any]]:
        return await self._read(claims, "console_tenants")

    async def entries(self, claims: Mapping[str, Any], tenant_id: str, directory: str,
                      search: str | None) -> list[dict[str, Any]]:
        name = "console_partners" if check_directory(directory) == "partners" \
            else "console_people"
        return await self._read(claims, name, tenant_id=tenant_id, search=search,
                                limit=PAGE_SIZE, directory=directory)

    async def changes(self, claims: Mapping[str, Any], *, tenant_id: str | None = None,
                      change_id: int | None = None, offset: int = 0) -> list[dict[str, Any]]:
        return await self._read(claims, "console_changes", tenant_id=tenant_id,
                                change_id=change_id, limit=PAGE_SIZE + 1, offset=offset)

    async def _write(self, claims: Mapping[str, Any], name: str,
                     **params: Any) -> ChangeResult:
        """The write and the re-resolution of what it affects, in one transaction (run once
        more if it was rolled back for a concurrent change)."""

        async def write() -> ChangeResult:
            async with self.db.user_transaction(claims) as tx:
                result: dict[str, Any] = await tx.fetch_value(name, **params) or {}
                change_id = result.get("change_id")
                effect: dict[str, Any] = {}
                if change_id is not None:
                    effect = await tx.fetch_value("console_change_apply",
                                                  tenant_id=params["tenant_id"],
                                                  change_id=change_id) or {}
                    await tx.fetch_value("console_change_credit",
                                         tenant_id=params["tenant_id"], change_id=change_id)
            return ChangeResult(change_id, result.get("action"), effect)

        return await retried_once(write)

    async def set_partner(self, claims: Mapping[str, Any], tenant_id: str, alias: str | None,
                          canonical: str | None, problem_id: int | None = None) -> ChangeResult:
        return await self._write(claims, "console_partner_set", tenant_id=tenant_id,
                                 alias=clean_text("alias", alias),
                                 canonical=clean_text("canonical", canonical),
                                 problem_id=problem_id)

    async def remove_partner(self, claims: Mapping[str, Any], tenant_id: str,
                             alias: str | None) -> ChangeResult:
        return await self._write(claims, "console_partner_remove", tenant_id=tenant_id,
                                 alias=clean_text("alias", alias))

    async def set_person(self, claims: Mapping[str, Any], tenant_id: str, directory: str,
                         username: str | None, display_name: str | None, active: bool,
                         problem_id: int | None = None) -> ChangeResult:
        if check_directory(directory) == "partners":
            raise ConsoleError("directory must be ds or rm for a person")
        return await self._write(
            claims, "console_person_set", tenant_id=tenant_id, directory=directory,
            username=clean_text("preferred_username", username),
            display_name=clean_text("display_name", display_name, required=False),
            active=active, problem_id=problem_id)
