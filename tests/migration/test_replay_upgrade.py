"""0034 on a database of the released schema (0001-0033) with staged history: every staged batch
and its memoized answer stay; (tenant_id, batch_id) stays unique; the checksum stays indexed,
no longer unique; old batches still answer as replays of themselves, and a new batch_id with
an old batch's rows is merged."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import psycopg
from psycopg.rows import dict_row

from projects_import.db import migrations

SUBMIT = ("select fn_projects_import_submit('TELCO', 'upstream', %s, %s, 1::smallint, %s, %s,"
          " gen_random_uuid(), '{}') as answer")


def apply_released(url: str, last: str = "0033") -> None:
    """The migrations up to `last`, as the runner applies them."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("create table public.projects_import_migrations (version text primary key,"
                     " name text not null, checksum text not null,"
                     " applied_at timestamptz not null default now())")
        for migration in migrations.available():
            if migration.version > last:
                break
            with conn.transaction():
                conn.execute(migration.sql.encode())
                conn.execute("insert into public.projects_import_migrations"
                             " (version, name, checksum) values (%s, %s, %s)",
                             (migration.version, migration.name, migration.checksum))


def submit(conn: psycopg.Connection[Any], batch_id: uuid.UUID, checksum: str,
           manager: str) -> dict[str, Any]:
    rows = [{"stage_application": "P", "relationship_manager": manager}]
    answer: dict[str, Any] = conn.execute(
        SUBMIT, (batch_id, checksum, json.dumps({"rows": rows}), json.dumps(rows))
    ).fetchone()["answer"]
    return answer


def rm_of(conn: psycopg.Connection[Any]) -> list[str]:
    return [r["member"] for r in conn.execute(
        "select member from vw_project_members where role = 'relationship_manager'")]


def staging_index(conn: psycopg.Connection[Any]) -> dict[str, bool]:
    rows = conn.execute(
        "select pg_get_indexdef(i.indexrelid) as definition, i.indisunique as is_unique"
        "  from pg_index i where i.indrelid = 'public.staging_imports'::regclass").fetchall()
    return {r["definition"].split(" USING btree ")[1]: r["is_unique"] for r in rows}


def test_the_released_history_is_kept_and_follows_the_new_rule(
        fresh_database: Callable[[str | None], str]) -> None:
    url = fresh_database(None)
    apply_released(url)
    day1, day2, day3 = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    with psycopg.connect(url, autocommit=True, row_factory=dict_row) as conn:
        conn.execute("insert into tenants (tenant_id) values ('TELCO')")
        conn.execute("insert into rm_directory (tenant_id, preferred_username, display_name,"
                     " active) values ('TELCO', 'ann', 'Ann', true), ('TELCO', 'bob', 'Bob',"
                     " true)")
        assert submit(conn, day1, "sum-ann", "Ann")["outcome"] == "merged"
        assert submit(conn, day2, "sum-bob", "Bob")["outcome"] == "merged"
        # the released rule: the same rows under a new batch id are a "replay" of day 1
        released = submit(conn, day3, "sum-ann", "Ann")
        assert released["outcome"] == "replayed" and released["batch_id"] == str(day1)
        assert rm_of(conn) == ["bob"]
        before = conn.execute("select id, batch_id, batch_checksum, validation, created_at"
                              " from staging_imports order by created_at").fetchall()
        assert staging_index(conn)["(tenant_id, batch_checksum)"] is True

    applied = migrations.migrate(url)
    assert [name for name in applied if not name.startswith("R:")] == [
        f"{m.version}_{m.name}" for m in migrations.available() if m.version > "0033"]

    with psycopg.connect(url, autocommit=True, row_factory=dict_row) as conn:
        after = conn.execute("select id, batch_id, batch_checksum, validation, created_at"
                             " from staging_imports order by created_at").fetchall()
        assert after == before
        indexes = staging_index(conn)
        assert indexes["(tenant_id, batch_checksum)"] is False
        assert indexes["(tenant_id, batch_id)"] is True

        late = submit(conn, day1, "sum-ann", "Ann")
        assert late["outcome"] == "replayed" and late["batch_id"] == str(day1)
        assert late["metrics"] == before[0]["validation"]["metrics"] | {
            "staging_id": str(before[0]["id"])}
        assert rm_of(conn) == ["bob"]
        assert submit(conn, day2, "sum-ann", "Ann")["outcome"] == "batch_conflict"

        reverted = submit(conn, day3, "sum-ann", "Ann")
        assert reverted["outcome"] == "merged" and reverted["batch_id"] == str(day3)
        assert rm_of(conn) == ["ann"]
        ended = conn.execute("select username from project_user_memberships"
                             " where ended_at is not null order by username").fetchall()
        assert [r["username"] for r in ended] == ["ann", "bob"]
