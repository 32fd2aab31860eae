"""The schema stays distributable by tenant (SPEC §1, docs/scaling.md): keys and foreign keys
of tenant tables lead with tenant_id, and the Citus DDL in docs/scaling.md names every table."""

from __future__ import annotations

import re
from pathlib import Path

import psycopg

SCALING = Path(__file__).resolve().parents[2] / "docs" / "scaling.md"
LOCAL = {"projects_import_migrations"}


def _documented() -> tuple[set[str], set[str]]:
    text = SCALING.read_text()
    distributed = set(re.findall(r"create_distributed_table\('public\.(\w+)', 'tenant_id'", text))
    reference = set(re.findall(r"create_reference_table\('public\.(\w+)'\)", text))
    return distributed, reference


def _tables(conn: psycopg.Connection) -> dict[str, bool]:
    """Every public table, and whether it has a tenant_id column."""
    rows = conn.execute("""
        select c.relname,
               exists (select 1 from pg_attribute a where a.attrelid = c.oid
                          and a.attname = 'tenant_id' and not a.attisdropped) as has_tenant
          from pg_class c join pg_namespace n on n.oid = c.relnamespace
         where n.nspname = 'public' and c.relkind in ('r', 'p')
    """).fetchall()
    return {name: has_tenant for name, has_tenant in rows}


def test_every_table_is_placed_in_the_citus_ddl(database_url) -> None:
    distributed, reference = _documented()
    with psycopg.connect(database_url) as conn:
        tables = _tables(conn)
    assert not distributed & reference
    unplaced = set(tables) - distributed - reference - LOCAL
    assert unplaced == set(), f"add these tables to docs/scaling.md's DDL: {sorted(unplaced)}"
    assert (distributed | reference) - set(tables) == set(), "the DDL names a missing table"
    assert all(tables[name] for name in distributed), "a distributed table needs tenant_id"


def test_keys_and_foreign_keys_of_distributed_tables_lead_with_tenant_id(database_url) -> None:
    distributed, reference = _documented()
    with psycopg.connect(database_url) as conn:
        rows = conn.execute("""
            select c.conrelid::regclass::text as tbl, c.conname, c.contype,
                   (select a.attname from pg_attribute a
                     where a.attrelid = c.conrelid and a.attnum = c.conkey[1]) as first_col,
                   c.confrelid::regclass::text as ref_tbl,
                   (select a.attname from pg_attribute a
                     where a.attrelid = c.confrelid and a.attnum = c.confkey[1]) as ref_first
              from pg_constraint c
              join pg_namespace n on n.oid = c.connamespace
             where n.nspname = 'public' and c.contype in ('p', 'u', 'f')
        """).fetchall()
    checked = 0
    offenders = []
    for table, name, kind, first, ref_table, ref_first in rows:
        table = table.removeprefix("public.")
        if table not in distributed:
            continue
        checked += 1
        if first != "tenant_id":
            offenders.append((table, name, first))
        elif kind == "f":
            ref_table = ref_table.removeprefix("public.")
            # a foreign key between tenant tables is co-located only through tenant_id;
            # one into a reference table (tenants) is allowed as it is
            if ref_table not in reference and (ref_table not in distributed
                                               or ref_first != "tenant_id"):
                offenders.append((table, name, f"references {ref_table}({ref_first})"))
    assert checked > 10
    assert offenders == []
