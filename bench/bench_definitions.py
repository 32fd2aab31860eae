"""Definition files A/B: the import's submit with today's definitions against those of a git
revision, called directly (no HTTP), interleaved on one database.

    .venv/bin/python bench/bench_definitions.py REV FILE [FILE ...] [--repeat 7]

FILE: definition files (paths in the repository, e.g.
projects_import/sql/definitions/functions/fn_projects_import_merge_stage.sql). Before each
step the named files are applied as they are in the working tree ("now") or as they were at
REV ("then"); each step imports 5,000 rows into a new tenant, then re-imports 3,800 changed and
1,200 new rows, and times the submit and its commit. The two variants alternate in a rotating
order; repetition -1 warms up and is not counted. Prints medians, and checks that both variants
answer the same metrics. Each new tenant's id sorts before every earlier one
(`harness.descending_tenant_ids`), so neither variant writes at the right end of the indexes.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson
from harness import ROOT, Cluster, add_tenant, descending_tenant_ids, make_rows

from projects_import.db.queries import query
from projects_import.imports.contract import parse_payload
from projects_import.imports.prepare import StagedBatch
from projects_import.imports.service import submit_params

ROWS = 5000


def submit(conn: Any, tenant: str, batch: str, rows: list[dict[str, Any]]
           ) -> tuple[float, dict[str, Any]]:
    payload = {"tenant_id": tenant, "batch_id": batch, "rows": rows}
    request = parse_payload(payload, max_rows=ROWS)
    params = submit_params(StagedBatch.of(request).with_body(orjson.dumps(payload)))
    started = time.perf_counter()
    row = conn.execute(query("import_submit"), params).fetchone()
    conn.commit()
    return time.perf_counter() - started, row[0]["metrics"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("revision")
    parser.add_argument("files", nargs="+")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    variants = {
        "now": [(ROOT / f).read_text() for f in args.files],
        "then": [subprocess.run(["git", "show", f"{args.revision}:{f}"], cwd=ROOT, check=True,
                                capture_output=True, text=True).stdout for f in args.files],
    }
    first_rows = make_rows(ROWS)
    second_rows = make_rows(3800, bump=1) + make_rows(1200, offset=ROWS)
    times: dict[tuple[str, str], list[float]] = {}
    metrics: dict[tuple[str, str], list[dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        cluster = Cluster(Path(tmp))
        new_tenant = descending_tenant_ids()
        try:
            with cluster.connect() as conn:
                for rep in range(-1, args.repeat):
                    order = ("now", "then") if rep % 2 == 0 else ("then", "now")
                    for variant in order:
                        for text in variants[variant]:
                            conn.execute(text)
                        conn.commit()
                        tenant = new_tenant()
                        add_tenant(cluster.url, tenant)
                        for kind, rows in (("first", first_rows), ("re-import", second_rows)):
                            seconds, answer = submit(conn, tenant, f"{kind}-{rep}", rows)
                            answer.pop("staging_id", None)
                            metrics.setdefault((kind, variant), []).append(answer)
                            if rep >= 0:
                                times.setdefault((kind, variant), []).append(seconds)
        finally:
            cluster.close()
    for kind in ("first", "re-import"):
        now = statistics.median(times[(kind, "now")]) * 1000
        then = statistics.median(times[(kind, "then")]) * 1000
        same = metrics[(kind, "now")] == metrics[(kind, "then")]
        print(f"{kind:10s} then {then:7.1f} ms  now {now:7.1f} ms  ({now - then:+.1f} ms; "
              f"metrics {'the same' if same else 'DIFFER'})")


if __name__ == "__main__":
    main()
