"""The directory fix of a whole cause (a problem group), with a preview and an undo.

A preview runs the very fix — the directory write, the re-resolution of the projects it
touches (`fn_directory_change_apply`) and the crediting of what it resolved — in a transaction
that is rolled back, and reads what it changed: so the preview is what the fix does, not an
estimate. The fix itself runs the same steps and commits. The old canonical values are read
inside the fix's transaction, after rolling back to a savepoint a first run of the same steps.
An undo reverts the directory change (`fn_directory_change_undo`): the projects re-resolve and
the problems it resolved are reopened.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from projects_import.console.directories import clean_text
from projects_import.console.errors import ConsoleError
from projects_import.console.retry import retried_once
from projects_import.db.connection import Database, QuerySession
from projects_import.vocabulary import ANOMALY_TYPES

CANONICAL_FIELDS = ("partner_org", "ds_username", "rm_username")
DIRECTORY_OF = {"UNKNOWN_DELIVERY_PARTNER": "partners", "UNKNOWN_DS": "ds", "UNKNOWN_RM": "rm"}


@dataclass(frozen=True)
class FixPlan:
    """What the admin chose for a cause: the canonical partner its value means, or the DS/RM
    entry to add (or reactivate) for it."""

    tenant_id: str
    anomaly_type: str
    value: str
    canonical: str | None = None
    username: str | None = None
    display_name: str | None = None

    def __post_init__(self) -> None:
        if self.anomaly_type not in ANOMALY_TYPES:
            raise ConsoleError(f"type must be one of {', '.join(ANOMALY_TYPES)}")
        clean_text("value", self.value)

    @property
    def directory(self) -> str:
        return DIRECTORY_OF[self.anomaly_type]

    @property
    def ready(self) -> bool:
        return bool(self.canonical) if self.directory == "partners" else bool(self.username)


@dataclass
class FixEffect:
    """What a fix changes (or, previewed, would change): each project's canonical values old
    → new, and the problems it resolves."""

    change_id: int | None = None
    projects: list[dict[str, Any]] = field(default_factory=list)
    problems: list[dict[str, Any]] = field(default_factory=list)
    effect: dict[str, Any] = field(default_factory=dict)


class GroupFixes:
    def __init__(self, db: Database) -> None:
        self.db = db

    @staticmethod
    async def _write(tx: QuerySession, plan: FixPlan, problem_id: int | None) -> int | None:
        if plan.directory == "partners":
            result = await tx.fetch_value(
                "console_partner_set", tenant_id=plan.tenant_id, alias=plan.value,
                canonical=clean_text("canonical", plan.canonical), problem_id=problem_id)
        else:
            result = await tx.fetch_value(
                "console_person_set", tenant_id=plan.tenant_id, directory=plan.directory,
                username=clean_text("preferred_username", plan.username),
                display_name=clean_text("display_name", plan.display_name, required=False),
                active=True, problem_id=problem_id)
        change_id = (result or {}).get("change_id")
        if change_id is None:
            raise ConsoleError("the directory already says that: nothing to change")
        return int(change_id)

    async def _run(self, tx: QuerySession, plan: FixPlan, problem_id: int | None) -> FixEffect:
        """The fix's steps in `tx`, and what they changed (read before anything commits)."""
        change_id = await self._write(tx, plan, problem_id)
        effect = await tx.fetch_value("console_change_apply", tenant_id=plan.tenant_id,
                                      change_id=change_id) or {}
        await tx.fetch_value("console_change_credit", tenant_id=plan.tenant_id,
                             change_id=change_id)
        projects = await tx.fetch_all("fix_changed_projects", tenant_id=plan.tenant_id)
        problems = await tx.fetch_all("fix_resolved_problems", tenant_id=plan.tenant_id)
        return FixEffect(change_id, projects, problems, effect)

    async def _old_values(self, tx: QuerySession, tenant_id: str,
                          new: FixEffect) -> list[dict[str, Any]]:
        keys = [row["stage_application"] for row in new.projects]
        old = {row["stage_application"]: row
               for row in await tx.fetch_all("fix_projects", tenant_id=tenant_id, keys=keys)}
        changes = []
        for row in new.projects:
            before = old.get(row["stage_application"], {})
            for name in CANONICAL_FIELDS:
                if before.get(name) != row[name]:
                    changes.append({"project_key": row["stage_application"], "field": name,
                                    "old": before.get(name), "new": row[name]})
        return changes

    async def preview(self, claims: Mapping[str, Any], plan: FixPlan,
                      problem_id: int | None = None) -> FixEffect:
        """What the fix would do, from running it in a transaction that is rolled back."""
        return await retried_once(lambda: self._preview(claims, plan, problem_id))

    async def _preview(self, claims: Mapping[str, Any], plan: FixPlan,
                       problem_id: int | None) -> FixEffect:
        async with self.db.user_transaction(claims, rollback=True) as tx:
            await tx.execute("fix_savepoint")
            done = await self._run(tx, plan, problem_id)
            await tx.execute("fix_rollback_to_savepoint")
            done.projects = await self._old_values(tx, plan.tenant_id, done)
        done.change_id = None
        return done

    async def apply(self, claims: Mapping[str, Any], plan: FixPlan,
                    problem_id: int | None = None) -> FixEffect:
        """The fix, committed; with what it changed (run once more if it was rolled back for
        a concurrent change)."""
        return await retried_once(lambda: self._apply(claims, plan, problem_id))

    async def _apply(self, claims: Mapping[str, Any], plan: FixPlan,
                     problem_id: int | None) -> FixEffect:
        async with self.db.user_transaction(claims) as tx:
            await tx.execute("fix_savepoint")
            first = await self._run(tx, plan, problem_id)
            await tx.execute("fix_rollback_to_savepoint")
            changes = await self._old_values(tx, plan.tenant_id, first)
            done = await self._run(tx, plan, problem_id)
        done.projects = [c for c in changes
                         if c["project_key"] in {p["stage_application"] for p in done.projects}]
        return done

    async def undo(self, claims: Mapping[str, Any], tenant_id: str,
                   change_id: int) -> dict[str, Any]:
        """Revert a directory change; the problems it resolved that apply again reopen."""
        return await retried_once(lambda: self._undo(claims, tenant_id, change_id))

    async def _undo(self, claims: Mapping[str, Any], tenant_id: str,
                    change_id: int) -> dict[str, Any]:
        async with self.db.user_transaction(claims) as tx:
            result: dict[str, Any] = await tx.fetch_value(
                "console_change_undo", tenant_id=tenant_id, change_id=change_id) or {}
            result["projects"] = await tx.fetch_all("fix_changed_projects",
                                                    tenant_id=tenant_id)
            result["problems"] = await tx.fetch_all("fix_reopened_problems",
                                                    tenant_id=tenant_id)
        return result
