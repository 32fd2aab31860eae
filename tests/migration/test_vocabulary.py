"""`projects_import.vocabulary` says what the SQL says: read back from a migrated database."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import psycopg
import pytest

from projects_import import vocabulary
from projects_import.api.openapi import _ANOMALY_PARAMETERS
from projects_import.vocabulary import TENANT_ID, TENANT_ID_PATTERN


def check_of(db: psycopg.Connection[Any], table: str, column: str) -> str:
    rows = db.execute(
        "select pg_get_constraintdef(c.oid) as definition from pg_constraint c "
        "where c.conrelid = %s::regclass and c.contype = 'c'", (f"public.{table}",)).fetchall()
    matching = [r["definition"] for r in rows if re.search(rf"\b{column}\b", r["definition"])]
    assert len(matching) == 1, matching
    return str(matching[0])


def quoted(text: str) -> tuple[str, ...]:
    return tuple(re.findall(r"'([^']*)'::text", text))


def source_of(db: psycopg.Connection[Any], function: str) -> str:
    row = db.execute("select prosrc from pg_proc where oid = %s::regproc",
                     (f"public.{function}",)).fetchone()
    assert row is not None
    return str(row["prosrc"])


@pytest.mark.parametrize(("column", "expected"), [
    ("severity", vocabulary.SEVERITIES),
    ("anomaly_type", vocabulary.ANOMALY_TYPES),
    ("status", vocabulary.ANOMALY_STATUSES),
])
def test_anomaly_words_match_the_check_constraints(db, column, expected) -> None:
    assert quoted(check_of(db, "import_anomalies", column)) == expected


def test_each_anomaly_type_has_the_severity_the_merge_gives_it(db) -> None:
    """Wherever the SQL pairs a type with its severity (the merge's rule, fn_import_anomaly_misses
    since 0011), the pairs are the vocabulary's."""
    sources = db.execute("select string_agg(prosrc, ' ') as s from pg_proc p "
                         "join pg_namespace n on n.oid = p.pronamespace "
                         "where n.nspname = 'public'").fetchone()["s"]
    pairs = set(re.findall(r"\('(UNKNOWN_[A-Z_]+)', '([a-z]+)'", sources))
    assert pairs == set(vocabulary.ANOMALY_SEVERITY.items())


def test_excerpt_limit_matches_the_column_check_and_the_merge(db) -> None:
    limit = vocabulary.MAX_EXCERPT
    assert f"<= {limit}" in check_of(db, "import_anomalies", "payload_excerpt")
    assert f", {limit})" in source_of(db, "fn_projects_import_merge")
    assert f", {limit})" in source_of(db, "fn_projects_import_merge_find_misses")


def test_operator_roles_match_fn_is_operator(db) -> None:
    body = source_of(db, "fn_is_operator")
    listed = re.search(r"fn_jwt_app_role\(\) in \(([^)]*)\)", body)
    assert listed is not None, body
    assert tuple(re.findall(r"'([a-z]+)'", listed.group(1))) == vocabulary.OPERATOR_ROLES
    assert set(vocabulary.OPERATOR_ROLES) <= set(vocabulary.ROLES)


def test_retention_job_name_matches_the_pg_cron_functions(db) -> None:
    sources = " ".join(source_of(db, function) for function in
                       ("fn_import_retention_cron_job", "fn_schedule_import_retention"))
    assert set(re.findall(r"'(imports-[a-z-]+)'", sources)) == {vocabulary.RETENTION_JOB}


def test_import_lock_seed_matches_the_lock_key_function(db) -> None:
    body = source_of(db, "fn_projects_import_lock_key")
    assert re.search(rf",\s*{vocabulary.IMPORT_LOCK_SEED}\)", body)
    assert vocabulary.MIGRATIONS_LOCK != vocabulary.RETENTION_LOCK


def test_tenant_id_pattern_matches_the_tenants_check(db) -> None:
    assert TENANT_ID.pattern == TENANT_ID_PATTERN
    assert TENANT_ID.pattern in check_of(db, "tenants", "tenant_id")


def test_tenant_id_pattern_is_written_once_in_python() -> None:
    """vocabulary.py holds it; everything else (API, CLI, console, OpenAPI) derives from it."""
    package = Path(vocabulary.__file__).parent
    body = TENANT_ID_PATTERN.removeprefix("^").removesuffix("$")
    writers = sorted(str(path.relative_to(package)) for path in package.rglob("*.py")
                     if body in path.read_text())
    assert writers == ["vocabulary.py"]
    documented = {p["name"]: p["schema"].get("pattern", "") for p in _ANOMALY_PARAMETERS}
    assert body in documented["tenant"]


# Strings on which a hand-written copy of fn_directory_key would most likely drift: every
# kind of whitespace PostgreSQL's `\s` does or does not match, case beyond ASCII (U+0130,
# a final sigma), blanks.
TRICKY_KEYS = [
    "Ann Smith", "  Ann   Smith  ", "ann\tsmith", "ANN\t \tSMITH", "ann\nsmith", "ann\r\nsmith",
    "ann\x0bsmith", "ann\x0csmith", "ann\u00a0smith", "\u00a0ann smith\u00a0", "ann\u2007smith",
    "ann\u202fsmith", "ann\u2002smith", "ann\u2003\u2009smith", "ann\u3000smith",
    "ann\u1680smith", "ann\u2028smith", "ann\u205fsmith", "ann\u200bsmith", "ann\x85smith",
    "ann\x1csmith", "ann\x1fsmith", "\u00c0NN SM\u00cfTH", "\u0130stanbul",
    "\u039f\u0394\u03a5\u03a3\u03a3\u0395\u03a5\u03a3", "STRASSE", "Stra\u00dfe", "\u01c5emal",
    "\u216b", "\uff21\uff2e\uff2e", "", " ", "\t\n", "\u3000", "\u00a0", "a", "  x  ",
]


def test_directory_key_is_fn_directory_key(db) -> None:
    """The one Python rule (every reader's) equals SQL's on each tricky string."""
    ctype = db.execute("select datctype from pg_database where datname = current_database()"
                       ).fetchone()["datctype"]
    cases = TRICKY_KEYS if ctype not in ("C", "POSIX") else [t for t in TRICKY_KEYS
                                                          if t.isascii()]
    rows = db.execute("select v, public.fn_directory_key(v) as k from unnest(%s::text[]) v",
                      (cases,)).fetchall()
    assert len(rows) == len(cases)
    mismatches = [(r["v"], r["k"], vocabulary.directory_key(r["v"])) for r in rows
                  if r["k"] != vocabulary.directory_key(r["v"])]
    assert mismatches == []
    assert vocabulary.directory_key(None) is None
    assert vocabulary.directory_key("  ANN \t  Smith ") == "ann smith"
