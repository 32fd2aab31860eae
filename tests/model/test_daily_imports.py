"""A model-based test of whole days of imports: random sequences of what upstreams and operators
do, checked after every step against a pure-Python reference model of the contract (SPEC §5).

The steps: new daily batches (new rows, changed rows, reassignments, blanks), the same rows as an
earlier day under a new batch id (a revert), exact re-sends (the request digest answers) and
late retries in other bytes (the batch path answers) of earlier batches, directory fixes (the
CLI's `directory import` manager and the console's SQL, `fn_directory_person_set` /
`fn_directory_partner_set` + `fn_directory_change_apply`), the backfill, `rerun` of a staged
batch, acknowledge / resolve over HTTP, and retention (each new day first runs the daily
cleanup, `fn_cleanup_import_data`, over staged batches aged by their day, so a retry of an old
enough batch is no longer a replay). Imports go through the HTTP route of a live server;
every step is followed by a comparison of the database with the model: projects (raw and
canonical fields), active memberships as `vw_project_members` shows them, problems and their
states.

What the model leaves out: metrics and counts other than `replayed` and `batch_id`; occurrence
rows, their excerpts and counts, problem events, due times, `regressed` and resolutions; the
import history (`import_requests`); anomalies' own retention (kept for 36500 days here) and
the problems retention deletes; `rm_preferred_username`, developer class, dates and counts
other than `residential`; directory keys that differ only in case or spacing; more than one
tenant at a time (each example runs on a tenant of its own); concurrency.

Bounded for CI: a fixed seed (derandomize) and small sizes. A larger local run:

    PROJECTS_IMPORT_MODEL_EXAMPLES=300 PROJECTS_IMPORT_MODEL_STEPS=60 \\
        .venv/bin/pytest -q tests/model
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import uuid
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from projects_import.imports.contract import derive_uuid
from tests.support import as_user, bearer, create_tenant, user_token

EXAMPLES = int(os.environ.get("PROJECTS_IMPORT_MODEL_EXAMPLES", "25"))
STEPS = int(os.environ.get("PROJECTS_IMPORT_MODEL_STEPS", "30"))

# about 0.1 s a step on a quiet machine; the suite's 120 s limit is for the CI size
pytestmark = [pytest.mark.slow, pytest.mark.timeout(max(120, EXAMPLES * STEPS))]
IMPORTS_DAYS = 2  # retention of staged batches in the model's runs

PROJECTS = ["P1", "P2", "P3", "P4"]
PARTNERS = ["Fulton", "Downer", "Acme", ""]
SPECIALISTS = ["ds.a", "ds.b", "ds.c", ""]
MANAGERS = ["Ann", "Bob", "Cy", ""]
RM_USERNAMES = {"Ann": "ann", "Bob": "bob", "Cy": "cy"}
TYPES = ("UNKNOWN_DELIVERY_PARTNER", "UNKNOWN_DS", "UNKNOWN_RM")

Row = tuple[str, str, str, str, int]  # key, partner, specialist, manager, residential

rows_strategy = st.dictionaries(
    st.sampled_from(PROJECTS),
    st.tuples(st.sampled_from(PARTNERS), st.sampled_from(SPECIALISTS),
              st.sampled_from(MANAGERS), st.integers(0, 2)),
    min_size=1, max_size=len(PROJECTS),
).map(lambda found: [(key, *values) for key, values in found.items()])

_tenants = itertools.count(1)


def body_of(tenant_id: str, batch_id: str, rows: list[Row], *, indent: int | None = None
            ) -> bytes:
    payload = {"tenant_id": tenant_id, "source": "model", "batch_id": batch_id,
               "rows": [{"stage_application": k, "delivery_partner": p,
                         "deployment_specialist": d, "relationship_manager": r,
                         "residential": n} for k, p, d, r, n in rows]}
    return json.dumps(payload, indent=indent).encode()


class Model:
    """The contract, in Python: directories, projects, problems, staged batches."""

    def __init__(self) -> None:
        self.partners: dict[str, str] = {"fulton": "Fulton Pty", "downer": "Downer Group"}
        self.specialists: dict[str, bool] = {"ds.a": True, "ds.b": True}
        self.managers: dict[str, tuple[str, bool]] = {"ann": ("Ann", True),
                                                      "bob": ("Bob", True)}
        self.projects: dict[str, dict[str, Any]] = {}
        self.problems: dict[tuple[str, str, str], str] = {}
        self.occurrences: set[tuple[uuid.UUID, int, str]] = set()
        self.staged: dict[str, dict[str, Any]] = {}  # batch id as sent → rows, day
        self.history: dict[int, list[Row]] = {}  # every day's rows, staged or not any more
        self.today = 0

    # -- the rules of SPEC §5.3/5.4 and 0016's resolution
    def resolve(self, partner: str, specialist: str, manager: str
                ) -> tuple[str | None, str | None, str | None]:
        org = self.partners.get(partner.lower()) if partner else None
        if partner and org is None:
            named = sorted(c for c in self.partners.values() if c.lower() == partner.lower())
            org = named[0] if named else None
        ds = specialist if specialist and self.specialists.get(specialist.lower()) else None
        found = [u for u, (display, active) in self.managers.items()
                 if active and manager and display.lower() == manager.lower()]
        rm = found[0] if len(found) == 1 else None
        return org, ds, rm

    @staticmethod
    def misses(raw: Row, canon: tuple[str | None, ...]) -> set[tuple[str, str]]:
        _, partner, specialist, manager, _ = raw
        found = set()
        for kind, value, resolved in zip(TYPES, (partner, specialist, manager), canon,
                                         strict=True):
            if value and resolved is None:
                found.add((kind, value.lower()))
        return found

    def merge(self, tenant_id: str, batch_id: str, rows: list[Row]) -> None:
        batch_uuid = derive_uuid(tenant_id, batch_id)
        shown: dict[str, set[tuple[str, str]]] = {}
        for index, raw in enumerate(rows):
            canon = self.resolve(*raw[1:4])
            self.projects[raw[0]] = {"raw": raw, "canon": canon}
            shown[raw[0]] = self.misses(raw, canon)
            for kind, key in sorted(shown[raw[0]]):
                # recorded already: a rerun, or a retry of a batch retention removed (its
                # occurrences outlive it)
                if (batch_uuid, index, kind) in self.occurrences:
                    continue
                self.occurrences.add((batch_uuid, index, kind))
                if self.problems.get((raw[0], kind, key), "resolved") == "resolved":
                    self.problems[(raw[0], kind, key)] = "open"
        self._fix(shown)

    def backfill(self, keys: set[str] | None = None) -> None:
        shown = {}
        for key, project in self.projects.items():
            if keys is None or key in keys:
                project["canon"] = self.resolve(*project["raw"][1:4])
                shown[key] = self.misses(project["raw"], project["canon"])
        self._fix(shown)

    def _fix(self, shown: dict[str, set[tuple[str, str]]]) -> None:
        for (key, kind, value), status in list(self.problems.items()):
            if key in shown and status != "resolved" and (kind, value) not in shown[key]:
                self.problems[(key, kind, value)] = "resolved"

    # -- what the database shows
    def members(self) -> list[tuple[str, str, str, str]]:
        found = []
        for key, project in self.projects.items():
            org, ds, rm = project["canon"]
            if org:
                found.append((key, "org", org, "delivery_partner"))
            if ds:
                found.append((key, "user", ds, "deployment_specialist"))
            if rm:
                found.append((key, "user", rm, "relationship_manager"))
        return sorted(found)

    def project_rows(self) -> list[tuple[Any, ...]]:
        return sorted((k, p or None, d or None, r or None, n, *proj["canon"])
                      for k, proj in self.projects.items()
                      for _, p, d, r, n in [proj["raw"]])


def run_model(http: httpx.Client, db: psycopg.Connection[Any], database_url: str,
              workdir: Path) -> None:
    operator = bearer(user_token("operator"))

    class DailyImports(RuleBasedStateMachine):
        @initialize()
        def tenant(self) -> None:
            self.tenant_id = f"M{next(_tenants)}"
            self.secret = create_tenant(database_url, self.tenant_id)
            self.headers = {"Authorization": f"Bearer {self.secret}",
                            "Content-Type": "application/json"}
            self.model = Model()
            db.execute("insert into partner_normalization (tenant_id, alias, canonical) values "
                       "(%(t)s, 'Fulton', 'Fulton Pty'), (%(t)s, 'Downer', 'Downer Group')",
                       {"t": self.tenant_id})
            db.execute("insert into ds_directory (tenant_id, preferred_username, display_name, "
                       "active) values (%(t)s, 'ds.a', 'Dee A', true), "
                       "(%(t)s, 'ds.b', 'Dee B', true)", {"t": self.tenant_id})
            db.execute("insert into rm_directory (tenant_id, preferred_username, display_name, "
                       "active) values (%(t)s, 'ann', 'Ann', true), (%(t)s, 'bob', 'Bob', true)",
                       {"t": self.tenant_id})

        # ------------------------------------------------------------ imports (HTTP)
        def post(self, body: bytes) -> dict[str, Any]:
            response = http.post("/import-projects", content=body, headers=self.headers)
            assert response.status_code == 200, response.text
            answer: dict[str, Any] = response.json()
            return answer

        def send_new(self, rows: list[Row]) -> None:
            self.model.today += 1
            self.daily_retention()
            batch_id = f"day-{self.model.today}"
            body = body_of(self.tenant_id, batch_id, rows)
            answer = self.post(body)
            assert answer["replayed"] is False
            assert answer["batch_id"] == str(derive_uuid(self.tenant_id, batch_id))
            self.model.staged[batch_id] = {"rows": rows, "day": self.model.today}
            self.model.history[self.model.today] = rows
            self.model.merge(self.tenant_id, batch_id, rows)

        def daily_retention(self) -> None:
            """The day's cleanup (03:10 UTC): staged batches aged by their day, then
            fn_cleanup_import_data keeping IMPORTS_DAYS days of them (anomalies kept)."""
            for batch_id, staged in self.model.staged.items():
                db.execute("update staging_imports set created_at = now() "
                           "- make_interval(days => %s) + interval '1 hour' "
                           "where tenant_id = %s and batch_id = %s",
                           (self.model.today - staged["day"], self.tenant_id,
                            derive_uuid(self.tenant_id, batch_id)))
            db.execute("select fn_cleanup_import_data(%s, 36500)", (IMPORTS_DAYS,))
            self.model.staged = {b: s for b, s in self.model.staged.items()
                                 if self.model.today - s["day"] <= IMPORTS_DAYS}

        @rule(rows=rows_strategy)
        def new_daily_batch(self, rows: list[Row]) -> None:
            self.send_new(rows)

        @precondition(lambda self: self.model.today > 0)
        @rule(data=st.data())
        def same_rows_as_an_earlier_day(self, data: st.DataObject) -> None:
            """A revert (A-B-A): an earlier day's rows under today's new batch id."""
            day = data.draw(st.integers(1, self.model.today), label="day")
            self.send_new(self.model.history[day])

        @precondition(lambda self: self.model.today > 0)
        @rule(data=st.data(), exact=st.booleans())
        def retry_an_earlier_batch(self, data: st.DataObject, exact: bool) -> None:
            """The same batch again, however late: exactly (the request digest answers) or in
            other bytes (the batch path answers). A replay while it is staged; after retention
            removed it, new data."""
            day = data.draw(st.integers(1, self.model.today), label="day")
            batch_id = f"day-{day}"
            rows = self.model.history[day] if exact else self.model.history[day][::-1]
            body = body_of(self.tenant_id, batch_id, rows, indent=None if exact else 1)
            answer = self.post(body)
            assert answer["batch_id"] == str(derive_uuid(self.tenant_id, batch_id))
            if batch_id in self.model.staged:
                event("retry: a replay")
                assert answer["replayed"] is True
            else:
                event("retry: retention removed the batch; merged as new data")
                assert answer["replayed"] is False
                self.model.staged[batch_id] = {"rows": rows, "day": self.model.today}
                self.model.merge(self.tenant_id, batch_id, rows)

        # ------------------------------------------------------------ directories
        @rule(kind=st.sampled_from(["partners", "ds", "rm"]), which=st.integers(0, 2),
              active=st.booleans())
        def directory_import(self, kind: str, which: int, active: bool) -> None:
            """`projects-import directory import` (the CLI's manager); no backfill."""
            from projects_import.db.connection import Database
            from projects_import.directories import import_directory

            path = workdir / f"{self.tenant_id}-{kind}.csv"
            if kind == "partners":
                alias = ["Fulton", "Downer", "Acme"][which]
                canonical = ["Fulton Pty", "Downer Group", "Acme Civil"][which]
                if not active:
                    canonical = "Downer Group" if alias != "Downer" else "Fulton Pty"
                path.write_text(f"alias,canonical\n{alias},{canonical}\n")
                self.model.partners[alias.lower()] = canonical
            elif kind == "ds":
                username = SPECIALISTS[which]
                path.write_text(f"preferred_username,display_name,active\n"
                                f"{username},Dee,{str(active).lower()}\n")
                self.model.specialists[username] = active
            else:
                display = MANAGERS[which]
                username = RM_USERNAMES[display]
                path.write_text(f"display_name,preferred_username,active\n"
                                f"{display},{username},{str(active).lower()}\n")
                self.model.managers[username] = (display, active)

            async def run() -> None:
                async with Database(database_url, max_size=1) as database:
                    await import_directory(database, kind, self.tenant_id, path)

            asyncio.run(run())

        @rule(kind=st.sampled_from(["partners", "ds", "rm"]), which=st.integers(0, 2),
              active=st.booleans())
        def console_directory_fix(self, kind: str, which: int, active: bool) -> None:
            """The console's fix: the directory change, then the affected projects re-resolve
            (fn_directory_change_apply, a project-scoped backfill)."""
            values: set[str] = set()
            if kind == "partners":
                alias = ["Fulton", "Downer", "Acme"][which]
                canonical = "Acme Civil" if active else "Fulton Pty"
                before = self.model.partners.get(alias.lower())
                # the directory keys of the alias row before and after the change
                values = {alias.lower(), canonical.lower()} | {before.lower()} if before \
                    else {alias.lower(), canonical.lower()}
                sql = "select fn_directory_partner_set(%s, %s, %s) as r"
                args: tuple[Any, ...] = (self.tenant_id, alias, canonical)
                self.model.partners[alias.lower()] = canonical
                field = 1
            elif kind == "ds":
                username = SPECIALISTS[which]
                values = {username, "dee"}
                sql = "select fn_directory_person_set(%s, 'ds', %s, 'Dee', %s) as r"
                args = (self.tenant_id, username, active)
                self.model.specialists[username] = active
                field = 2
            else:
                display = MANAGERS[which]
                username = RM_USERNAMES[display]
                values = {username, display.lower()}
                sql = "select fn_directory_person_set(%s, 'rm', %s, %s, %s) as r"
                args = (self.tenant_id, username, display, active)
                self.model.managers[username] = (display, active)
                field = 3
            with as_user(db, "admin") as conn:
                change = conn.execute(sql, args).fetchone()["r"]
                if change["change_id"] is not None:
                    conn.execute("select fn_directory_change_apply(%s, %s)",
                                 (self.tenant_id, change["change_id"]))
            if change["change_id"] is not None:
                self.model.backfill({k for k, p in self.model.projects.items()
                                     if p["raw"][field].lower() in values})

        @rule()
        def backfill(self) -> None:
            db.execute("select fn_projects_membership_backfill(%s)", (self.tenant_id,))
            self.model.backfill()

        # ------------------------------------------------------------ reruns, problems
        @precondition(lambda self: self.model.today > 0)
        @rule(data=st.data())
        def rerun(self, data: st.DataObject) -> None:
            from projects_import.db.connection import Database
            from projects_import.imports.service import BatchNotFound, ImportService

            day = data.draw(st.integers(1, self.model.today), label="day")
            batch_id = f"day-{day}"

            async def run() -> bool:
                async with Database(database_url, max_size=1) as database:
                    try:
                        await ImportService(database).rerun(
                            self.tenant_id, derive_uuid(self.tenant_id, batch_id),
                            max_rows=5000)
                    except BatchNotFound:
                        return False
                return True

            assert asyncio.run(run()) == (batch_id in self.model.staged)
            if batch_id in self.model.staged:
                self.model.merge(self.tenant_id, batch_id, self.model.staged[batch_id]["rows"])

        @precondition(lambda self: any(s != "resolved" for s in self.model.problems.values()))
        @rule(data=st.data(), resolve=st.booleans())
        def operator_step(self, data: st.DataObject, resolve: bool) -> None:
            choices = sorted(k for k, s in self.model.problems.items()
                             if s == "open" or (resolve and s == "acknowledged"))
            if not choices:
                return
            key = data.draw(st.sampled_from(choices), label="problem")
            problem_id = db.execute(
                "select id from import_problems where tenant_id = %s and project_key = %s "
                "and anomaly_type = %s and unknown_key = %s", (self.tenant_id, *key)
            ).fetchone()["id"]
            action = "resolve" if resolve else "acknowledge"
            response = http.post(f"/anomalies/problems/{problem_id}/{action}", headers=operator)
            assert response.status_code == 200, response.text
            self.model.problems[key] = "resolved" if resolve else "acknowledged"

        # ------------------------------------------------------------ the comparison
        @invariant()
        def database_equals_model(self) -> None:
            if not hasattr(self, "model"):
                return
            projects = db.execute(
                "select stage_application, delivery_partner, deployment_specialist, "
                "relationship_manager, residential, partner_org, ds_username, rm_username "
                "from projects where tenant_id = %s order by 1", (self.tenant_id,)).fetchall()
            assert [tuple(p.values()) for p in projects] == self.model.project_rows()
            members = db.execute(
                "select project_key, member_type, member, role from vw_project_members "
                "where tenant_id = %s order by 1, 2, 3, 4", (self.tenant_id,)).fetchall()
            assert [tuple(m.values()) for m in members] == self.model.members()
            problems = db.execute(
                "select project_key, anomaly_type, unknown_key, status from import_problems "
                "where tenant_id = %s", (self.tenant_id,)).fetchall()
            assert {(p["project_key"], p["anomaly_type"], p["unknown_key"]): p["status"]
                    for p in problems} == self.model.problems

    run_state_machine_as_test(DailyImports, settings=settings(
        max_examples=EXAMPLES, stateful_step_count=STEPS, derandomize=True, deadline=None,
        database=None, suppress_health_check=list(HealthCheck)))


def test_whole_days_of_imports_match_the_model(http, db, database_url, tmp_path) -> None:
    run_model(http, db, database_url, tmp_path)
