"""The schema the migrations build, as deterministic text: `sql/schema.sql`.

Read from the catalog of a migrated database (no pg_dump needed): tables with their columns,
constraints and row-level security, indexes, views, functions (their source as written),
triggers, policies and privileges (who may use each table, view, sequence and function, the
owner left out) of the `public` and `auth` schemas, each sorted by name (not the
functions an extension brings: where pg_trgm lands depends on the server). A test applies
every migration to an empty database and compares the result with the file, so a migration
that changes the schema also shows, reviewed, in `schema.sql`.

Regenerate after adding a migration:

    .venv/bin/python -m projects_import.db.snapshot --write

PostgreSQL versions deparse some expressions differently (view bodies, CHECK and policy
expressions; 18 also lists NOT NULL as constraints). The dump reads NOT NULL from the column
and normalizes the known differences (`normalize`), so one file holds for PostgreSQL 15-18.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
import uuid
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from projects_import.db import embedded, migrations

SCHEMAS = ["public", "auth"]
HEADER = ("-- Generated from the catalog of a freshly migrated database; do not edit.\n"
          "-- Regenerate: .venv/bin/python -m projects_import.db.snapshot --write\n")

_TABLES = """
select c.oid, n.nspname || '.' || c.relname as name, c.relrowsecurity as rls,
       c.relforcerowsecurity as forced, c.relkind
  from pg_class c join pg_namespace n on n.oid = c.relnamespace
 where n.nspname = any(%(schemas)s) and c.relkind in ('r', 'p')
 order by name
"""
_COLUMNS = """
select a.attname as name, format_type(a.atttypid, a.atttypmod) as type, a.attnotnull as not_null,
       pg_get_expr(d.adbin, d.adrelid) as default, a.attidentity as identity,
       a.attgenerated as generated
  from pg_attribute a left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
 where a.attrelid = %(oid)s and a.attnum > 0 and not a.attisdropped
 order by a.attnum
"""
_CONSTRAINTS = """
select conname as name, pg_get_constraintdef(oid) as definition
  from pg_constraint
 where conrelid = %(oid)s and contype in ('p', 'u', 'f', 'c', 'x')
 order by conname
"""
_INDEXES = """
select i.indexrelid::regclass::text as name, pg_get_indexdef(i.indexrelid) as definition
  from pg_index i
  join pg_class c on c.oid = i.indrelid join pg_namespace n on n.oid = c.relnamespace
 where n.nspname = any(%(schemas)s)
 order by n.nspname, c.relname, name
"""
_VIEWS = """
select n.nspname || '.' || c.relname as name, c.reloptions as options,
       pg_get_viewdef(c.oid, false) as definition
  from pg_class c join pg_namespace n on n.oid = c.relnamespace
 where n.nspname = any(%(schemas)s) and c.relkind in ('v', 'm')
 order by name
"""
_FUNCTIONS = """
select n.nspname || '.' || p.proname as name,
       pg_get_function_identity_arguments(p.oid) as arguments,
       pg_get_function_result(p.oid) as result, l.lanname as language,
       p.provolatile as volatility, p.prosecdef as security_definer,
       p.proconfig as config, p.prosrc as source
  from pg_proc p
  join pg_namespace n on n.oid = p.pronamespace join pg_language l on l.oid = p.prolang
 where n.nspname = any(%(schemas)s) and p.prokind in ('f', 'p')
   and not exists (select 1 from pg_depend d  -- an extension's own (pg_trgm's in public)
                    where d.classid = 'pg_proc'::regclass and d.objid = p.oid
                      and d.deptype = 'e')
 order by name, arguments
"""
_TRIGGERS = """
select t.tgname as name, t.tgrelid::regclass::text as relation,
       pg_get_triggerdef(t.oid) as definition
  from pg_trigger t
  join pg_class c on c.oid = t.tgrelid join pg_namespace n on n.oid = c.relnamespace
 where n.nspname = any(%(schemas)s) and not t.tgisinternal
 order by relation, name
"""
_POLICIES = """
select schemaname || '.' || tablename as relation, policyname as name, permissive, cmd,
       roles::text[] as roles, qual, with_check
  from pg_policies
 where schemaname = any(%(schemas)s)
 order by relation, name
"""
_PRIVILEGES = """
select kind, name, string_agg(lower(privilege), ', ' order by privilege) as privileges,
       case when grantee = 0 then 'public' else grantee::regrole::text end as grantee
  from (select case c.relkind when 'S' then 'sequence' when 'v' then 'view'
                    when 'm' then 'view' else 'table' end as kind,
               n.nspname || '.' || c.relname as name,
               a.grantee, a.privilege_type as privilege, c.relowner as owner
          from pg_class c join pg_namespace n on n.oid = c.relnamespace
          cross join lateral aclexplode(coalesce(c.relacl, acldefault(
                case c.relkind when 'S' then 's' else 'r' end::"char", c.relowner))) a
         where n.nspname = any(%(schemas)s) and c.relkind in ('r', 'p', 'v', 'm', 'S')
        union all
        select 'function', n.nspname || '.' || p.proname || '('
                           || oidvectortypes(p.proargtypes) || ')',
               a.grantee, a.privilege_type, p.proowner
          from pg_proc p join pg_namespace n on n.oid = p.pronamespace
          cross join lateral aclexplode(coalesce(p.proacl, acldefault('f'::"char", p.proowner))) a
         where n.nspname = any(%(schemas)s) and p.prokind in ('f', 'p')
           and not exists (select 1 from pg_depend d
                            where d.classid = 'pg_proc'::regclass and d.objid = p.oid
                              and d.deptype = 'e')) acl
 where grantee <> owner  -- the owner (whoever migrated) holds everything
 group by kind, name, grantee
 order by kind, name, grantee
"""
_VOLATILITY = {"i": "immutable", "s": "stable", "v": "volatile"}


def normalize(text: str) -> str:
    """The same deparsed expression whatever the PostgreSQL version: whitespace collapsed,
    and the redundant parentheses and casts some versions add dropped."""
    text = " ".join(text.split())
    text = re.sub(r"\(\s+", "(", text)
    text = re.sub(r"\s+\)", ")", text)
    return text


_ALIAS = re.compile(r"\b(?:FROM|JOIN)\s+(?:\w+\.)?\w+\s+(?:AS\s+)?(\w+)")
_CLAUSE_WORDS = {"where", "join", "left", "right", "full", "inner", "cross", "on", "group",
                 "order", "limit", "union", "lateral"}


def view_text(definition: str) -> str:
    """A view body without its range-variable qualifiers (`a.id` → `id`): PostgreSQL 16+
    leaves them out where they are not needed, 15 writes them everywhere."""
    text = normalize(definition)
    for alias in {a for a in _ALIAS.findall(text) if a.lower() not in _CLAUSE_WORDS}:
        text = re.sub(rf"\b{re.escape(alias)}\.(?=\w)", "", text)
    return text


def _rows(conn: psycopg.Connection[dict[str, Any]], query: str,
          **params: Any) -> list[dict[str, Any]]:
    return conn.execute(query.encode(), {"schemas": SCHEMAS, **params}).fetchall()


def dump(conn: psycopg.Connection[dict[str, Any]]) -> str:
    """The schema as text, deterministic for a given set of migrations."""
    out: list[str] = [HEADER]
    for table in _rows(conn, _TABLES):
        security = "rls" if table["rls"] else "no rls"
        if table["forced"]:
            security += ", forced"
        out.append(f"\ntable {table['name']} ({security})")
        for col in _rows(conn, _COLUMNS, oid=table["oid"]):
            line = f"    {col['name']} {col['type']}"
            if col["not_null"]:
                line += " not null"
            if col["identity"]:
                line += " generated identity"
            if col["default"] is not None:
                line += (" generated as " if col["generated"] else " default ")
                line += normalize(col["default"])
            out.append(line)
        for con in _rows(conn, _CONSTRAINTS, oid=table["oid"]):
            out.append(f"    constraint {con['name']} {normalize(con['definition'])}")
    out.append("")
    for index in _rows(conn, _INDEXES):
        out.append(f"index {index['name']}: {index['definition']}")
    for view in _rows(conn, _VIEWS):
        options = f" with ({', '.join(view['options'])})" if view["options"] else ""
        out.append(f"\nview {view['name']}{options}:\n    {view_text(view['definition'])}")
    for fn in _rows(conn, _FUNCTIONS):
        traits = [fn["language"], _VOLATILITY[fn["volatility"]]]
        if fn["security_definer"]:
            traits.append("security definer")
        traits += [f"set {setting}" for setting in fn["config"] or []]
        out.append(f"\nfunction {fn['name']}({fn['arguments']}) returns {fn['result']} "
                   f"[{', '.join(traits)}]:\n{fn['source'].strip()}")
    out.append("")
    for trigger in _rows(conn, _TRIGGERS):
        out.append(f"trigger {trigger['relation']}.{trigger['name']}: {trigger['definition']}")
    for policy in _rows(conn, _POLICIES):
        line = (f"policy {policy['relation']}.{policy['name']}: {policy['permissive'].lower()} "
                f"for {policy['cmd'].lower()} to {', '.join(sorted(policy['roles']))}")
        if policy["qual"]:
            line += f" using {normalize(policy['qual'])}"
        if policy["with_check"]:
            line += f" with check {normalize(policy['with_check'])}"
        out.append(line)
    out.append("")
    for acl in _rows(conn, _PRIVILEGES):
        out.append(f"grant {acl['privileges']} on {acl['kind']} {acl['name']} "
                   f"to {acl['grantee']}")
    return "\n".join(out).rstrip() + "\n"


def committed() -> str:
    """The snapshot shipped with the package."""
    return (resources.files("projects_import") / "sql" / "schema.sql").read_text()


@dataclass(frozen=True)
class Objects:
    """The `public` tables (with whether row-level security is on), views and functions a
    snapshot lists: what a database migrated to this release must hold."""

    tables: dict[str, bool]
    views: tuple[str, ...]
    functions: tuple[str, ...]


_OBJECT = re.compile(r"^(table|view|function) public\.([a-z_][a-z0-9_]*)(.*)$", re.MULTILINE)


def objects(text: str | None = None) -> Objects:
    """The objects of a snapshot (default: the one shipped with the package)."""
    tables: dict[str, bool] = {}
    views: set[str] = set()
    functions: set[str] = set()
    for kind, name, rest in _OBJECT.findall(committed() if text is None else text):
        if kind == "table":
            tables[name] = rest.startswith(" (rls")
        elif kind == "view":
            views.add(name)
        else:
            functions.add(name)
    return Objects(tables, tuple(sorted(views)), tuple(sorted(functions)))


def generate(admin_url: str) -> str:
    """Migrate a scratch database on the server at `admin_url`, dump it, drop it."""
    name = f"pi_snapshot_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    try:
        url = embedded.with_database(admin_url, name)
        migrations.migrate(url)
        with psycopg.connect(url, row_factory=dict_row) as conn:
            return dump(conn)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("drop database if exists {} with (force)").format(
                sql.Identifier(name)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m projects_import.db.snapshot",
                                     description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--write", action="store_true",
                        help="write projects_import/sql/schema.sql (default: print it)")
    parser.add_argument("--admin-url", help="a server where a scratch database may be created "
                                            "(default: a private embedded server)")
    args = parser.parse_args(argv)
    home: Path | None = None
    try:
        if args.admin_url:
            text = generate(args.admin_url)
        else:
            home = Path(tempfile.mkdtemp(prefix="projects-import-snapshot-"))
            text = generate(embedded.admin_uri(home))
    finally:
        if home is not None:
            embedded.stop_server(home)
            shutil.rmtree(home, ignore_errors=True)
    if args.write:
        target = Path(__file__).resolve().parent.parent / "sql" / "schema.sql"
        target.write_text(text)
        print(f"wrote {target}")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
