"""The two submit forms side by side: fn_projects_import_submit (rows as one jsonb value) and
fn_projects_import_submit_columns (one array literal per column, what the service sends), for a
5000-row first import and a re-import (3800 existing), interleaved on fresh tenants.

    .venv/bin/python bench/compare_submit.py [--repeat 7]

Times one round trip from psycopg (parameters sent, staged, merged, committed) and the Python
work that builds each form's rows parameter(s).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import psycopg
from harness import Cluster, Samples, add_tenant, make_rows
from psycopg.types.json import Jsonb

from projects_import.db.queries import query
from projects_import.imports.columns import INTEGER_COLUMNS, TEXT_COLUMNS, row_columns
from projects_import.imports.contract import ImportRequest, parse_payload
from projects_import.imports.service import submit_params

JSONB_SUBMIT = (
    "select public.fn_projects_import_submit(%(tenant_id)s, %(source)s, %(batch_id)s,"
    " %(batch_checksum)s, %(checksum_version)s::smallint, %(raw)s, %(rows)s,"
    " %(correlation_id)s, %(validation)s) as result")


def _already_json(text: str | bytes) -> str | bytes:
    return text


def jsonb_rows(request: ImportRequest) -> dict[str, Any]:
    """The rows as the service sent them before 0033: one jsonb value."""
    return {"rows": Jsonb(orjson.dumps(request.rows), dumps=_already_json)}


def column_rows(request: ImportRequest) -> dict[str, Any]:
    """The rows as the service sends them: one array literal per column."""
    return row_columns(request.rows)


COLUMNS = {*TEXT_COLUMNS, *INTEGER_COLUMNS}
FORMS: dict[str, tuple[str, Callable[[ImportRequest], dict[str, Any]]]] = {
    "jsonb rows": (JSONB_SUBMIT, jsonb_rows),
    "columns": (query("import_submit"), column_rows),
}


def request_for(tenant_id: str, batch: str, rows: list[dict[str, Any]]) -> ImportRequest:
    return parse_payload({"tenant_id": tenant_id, "batch_id": batch, "rows": rows},
                         max_rows=5000)


def run(conn: psycopg.Connection[Any], form: str, request: ImportRequest) -> tuple[float, float]:
    """(seconds to build the rows' parameters, seconds of the round trip). The other
    parameters (the raw body among them) are the same for both forms, built beforehand."""
    sql, build = FORMS[form]
    params = {k: v for k, v in submit_params(request).items() if k not in COLUMNS}
    started = time.perf_counter()
    params.update(build(request))
    built = time.perf_counter()
    with conn.transaction():
        answer = conn.execute(sql, params).fetchone()
    done = time.perf_counter()
    assert answer is not None and answer[0]["outcome"] == "merged", answer
    return built - started, done - built


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    first_rows = make_rows(5000)
    again_rows = make_rows(3800, bump=1) + make_rows(1200, offset=5000)
    samples: dict[str, Samples] = {}
    with tempfile.TemporaryDirectory() as tmp:
        cluster = Cluster(Path(tmp))
        try:
            with cluster.connect(autocommit=True) as conn:
                for rep in range(args.repeat + 1):      # repetition 0 warms every path
                    order = list(FORMS) if rep % 2 else list(reversed(FORMS))
                    for form in order:
                        tenant = f"T{rep}{'J' if form.startswith('jsonb') else 'C'}"
                        add_tenant(cluster.url, tenant)
                        for step, rows in (("first", first_rows), ("re-import", again_rows)):
                            build, sql = run(conn, form, request_for(tenant, step, rows))
                            if rep:
                                for part, value in (("SQL", sql), ("build", build)):
                                    key = f"{form}: {step}, {part}"
                                    samples.setdefault(key, Samples()).values.append(value)
        finally:
            cluster.close()
    print(f"load average {os.getloadavg()[0]:.2f}; {args.repeat} interleaved repetitions")
    print("| measurement | median ms | min ms | max ms |")
    print("|---|---:|---:|---:|")
    for name in sorted(samples):
        s = samples[name]
        print(f"| {name} | {s.median * 1000:.1f} | {s.low * 1000:.1f} | {s.high * 1000:.1f} |")


if __name__ == "__main__":
    main()
