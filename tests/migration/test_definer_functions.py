"""The catalog's own word on who may run what, and what a SECURITY DEFINER function trusts.

A definer function runs with its owner's rights (`postgres` on Supabase: BYPASSRLS, reads
`tenant_secrets`). It must not read or write an object its caller can create first — a temp
table (`pg_temp` is the caller's schema) or an unqualified name found through a search path the
caller set — and neither may any function it calls: a planted `pg_temp.membership_sync` with a
trigger would run that trigger as the owner. And no function in `public` is executable by
PUBLIC or `anon`, now or when the next one is added, unless it is listed here as intended.
"""

from __future__ import annotations

import re
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

# Functions `anon` (a caller with no session) may run on purpose: none.
ANON_MAY_EXECUTE: frozenset[str] = frozenset()
# Temp objects a caller could have created before the call: a temp table made only when
# missing, or any name qualified with the caller's temp schema.
CALLER_TEMP = re.compile(r"create\s+(temp|temporary)\s+table\s+if\s+not\s+exists"
                         r"|\bpg_temp\s*\.", re.IGNORECASE)
CALLED = re.compile(r"\b(fn_[a-z0-9_]+)\s*\(", re.IGNORECASE)


@pytest.fixture
def conn(database_url: str) -> Any:
    with psycopg.connect(database_url, row_factory=dict_row, autocommit=True) as connection:
        yield connection


def public_functions(conn: Any) -> list[dict[str, Any]]:
    return conn.execute("""
        select p.oid, p.proname, p.oid::regprocedure::text as signature, p.prosecdef,
               coalesce(p.prosrc, '') as prosrc, coalesce(p.proconfig, '{}') as config,
               coalesce(p.proacl::text[], '{}') as acl
          from pg_proc p join pg_namespace n on n.oid = p.pronamespace
         where n.nspname = 'public' and p.prokind in ('f', 'p')
           and not exists (select 1 from pg_depend d where d.objid = p.oid
                            and d.deptype = 'e')  -- extension members are not ours
         order by 3""").fetchall()


def reachable(start: dict[str, Any], by_name: dict[str, list[dict[str, Any]]]) -> list[str]:
    """Every function `start` calls by name, directly or through others, itself included."""
    seen: dict[str, dict[str, Any]] = {start["signature"]: start}
    todo = [start]
    while todo:
        for name in CALLED.findall(todo.pop()["prosrc"]):
            for callee in by_name.get(name.lower(), []):
                if callee["signature"] not in seen:
                    seen[callee["signature"]] = callee
                    todo.append(callee)
    return sorted(seen)


def test_every_definer_function_pins_its_search_path(conn) -> None:
    definers = [f for f in public_functions(conn) if f["prosecdef"]]
    assert len(definers) >= 10
    unpinned = [f["signature"] for f in definers
                if not any(c.startswith("search_path=") for c in f["config"])]
    assert unpinned == []


def test_no_definer_function_reaches_a_temp_object_its_caller_could_create(conn) -> None:
    functions = public_functions(conn)
    by_name: dict[str, list[dict[str, Any]]] = {}
    for function in functions:
        by_name.setdefault(function["proname"], []).append(function)
    by_signature = {f["signature"]: f for f in functions}
    trusting = {}
    for definer in (f for f in functions if f["prosecdef"]):
        for signature in reachable(definer, by_name):
            found = CALLER_TEMP.search(by_signature[signature]["prosrc"])
            if found:
                trusting[definer["signature"]] = f"{signature}: {found.group(0)!r}"
    assert trusting == {}


def test_no_function_is_executable_by_public_or_anon(conn) -> None:
    functions = public_functions(conn)
    assert len(functions) >= 40
    by_public = [f["signature"] for f in functions
                 if f["proname"] not in ANON_MAY_EXECUTE
                 and (not f["acl"] or any(entry.startswith("=") and "X" in entry.split("/")[0]
                                          for entry in f["acl"]))]
    assert by_public == [], (
        "EXECUTE granted to PUBLIC (a null ACL is PUBLIC's default too)")
    by_anon = [f["signature"] for f in functions if f["proname"] not in ANON_MAY_EXECUTE
               and conn.execute("select has_function_privilege('anon', %s, 'execute') as x",
                                (f["oid"],)).fetchone()["x"]]
    assert by_anon == []


def test_resolving_canonical_names_is_refused_to_anon(conn) -> None:
    assert not conn.execute(
        "select has_function_privilege('anon', 'fn_projects_resolve_canonical_batch("
        "text,text[],text[],text[],text[])', 'execute') as x").fetchone()["x"]
    conn.execute("insert into tenants (tenant_id, timezone) values ('T1', 'UTC')")
    with conn.transaction():
        conn.execute("set local role anon")
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="function"):
            conn.execute("select * from fn_projects_resolve_canonical_batch("
                         "'T1', '{x}', '{x}', '{x}', '{x}')")


def test_a_function_added_later_is_not_executable_by_public(conn) -> None:
    """The migrating role's global default privileges, not only those `in schema public`."""
    conn.autocommit = False
    try:
        conn.execute("create schema later_schema")
        for schema in ("public", "later_schema"):
            conn.execute(f"create function {schema}.fn_added_later() returns int "
                         "language sql as 'select 1'")
            granted = conn.execute(
                f"select has_function_privilege('anon', '{schema}.fn_added_later()', "
                "'execute') as anon, "
                f"(select proacl from pg_proc where oid = '{schema}.fn_added_later()'"
                "::regprocedure) is not null as explicit").fetchone()
            assert granted == {"anon": False, "explicit": True}, schema
    finally:
        conn.rollback()
