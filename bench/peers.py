"""What the import is compared with: the PostgreSQL floor and two peers, on the same rows."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import psycopg
from harness import COLUMNS

UPSERT = """
    insert into projects (tenant_id, stage_application, delivery_partner, developer_class,
        relationship_manager, deployment_specialist, residential, commercial, essential,
        stage_application_created)
    select %s, stage_application, delivery_partner, developer_class, relationship_manager,
           deployment_specialist,
           coalesce(nullif(residential, '')::int, 0), coalesce(nullif(commercial, '')::int, 0),
           coalesce(nullif(essential, '')::int, 0), nullif(stage_application_created, '')::date
      from incoming
    on conflict (tenant_id, stage_application) do update
       set delivery_partner = excluded.delivery_partner,
           developer_class = excluded.developer_class,
           relationship_manager = excluded.relationship_manager,
           deployment_specialist = excluded.deployment_specialist,
           residential = excluded.residential, commercial = excluded.commercial,
           essential = excluded.essential,
           stage_application_created = excluded.stage_application_created,
           updated_at = now()"""


def floor(conn: psycopg.Connection[Any], tenant_id: str, rows: list[dict[str, Any]]) -> float:
    """The floor: COPY the rows into a temp table, one INSERT … ON CONFLICT into projects,
    commit. No validation, staging, memberships, anomalies or metrics."""
    started = time.perf_counter()
    conn.execute("create temp table incoming (stage_application text, delivery_partner text, "
                 "developer_class text, relationship_manager text, deployment_specialist text, "
                 "residential text, commercial text, essential text, "
                 "stage_application_created text) on commit drop")
    with conn.cursor().copy(f"copy incoming ({', '.join(COLUMNS)}) from stdin") as copy:
        for row in rows:
            copy.write_row([row[c] for c in COLUMNS])
    conn.execute(UPSERT, (tenant_id,))
    conn.commit()
    return time.perf_counter() - started


def naive(conn: psycopg.Connection[Any], tenant_id: str, rows: list[dict[str, Any]]) -> float:
    """Row by row: look the project up, then insert or update it (an ORM's default pattern).
    Writes projects only."""
    started = time.perf_counter()
    for row in rows:
        found = conn.execute("select 1 from projects where tenant_id = %s and "
                             "stage_application = %s",
                             (tenant_id, row["stage_application"])).fetchone()
        values = (row["delivery_partner"], row["developer_class"], row["relationship_manager"],
                  row["deployment_specialist"], int(row["residential"] or 0),
                  int(row["commercial"] or 0), int(row["essential"] or 0),
                  row["stage_application_created"])
        if found:
            conn.execute("update projects set delivery_partner = %s, developer_class = %s, "
                         "relationship_manager = %s, deployment_specialist = %s, "
                         "residential = %s, commercial = %s, essential = %s, "
                         "stage_application_created = %s, updated_at = now() "
                         "where tenant_id = %s and stage_application = %s",
                         (*values, tenant_id, row["stage_application"]))
        else:
            conn.execute("insert into projects (tenant_id, stage_application, delivery_partner, "
                         "developer_class, relationship_manager, deployment_specialist, "
                         "residential, commercial, essential, stage_application_created) "
                         "values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                         (tenant_id, row["stage_application"], *values))
    conn.commit()
    return time.perf_counter() - started


class DltPeer:
    """dlt's merge load (write_disposition="merge", primary key stage_application) of the
    same rows into its own dataset in the same database. Loads projects only: no
    memberships, no anomalies, no exact per-batch counts."""

    def __init__(self, url: str, work: Path) -> None:
        os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
        import dlt

        self.dlt = dlt
        self.url = url
        self.work = work

    def version(self) -> str:
        return str(self.dlt.__version__)

    def pipeline(self, dataset: str) -> Any:
        from psycopg.conninfo import conninfo_to_dict

        info = conninfo_to_dict(self.url)
        # the embedded server listens on a socket folder: libpq takes it from `host=` in the
        # query, which dlt passes through; the password is unused by its trust authentication
        credentials = (f"postgresql://{info.get('user')}:unused@localhost:"
                       f"{info.get('port') or 5432}/{info.get('dbname')}?host={info.get('host')}")
        return self.dlt.pipeline(
            pipeline_name=dataset, dataset_name=dataset, pipelines_dir=str(self.work),
            destination=self.dlt.destinations.postgres(credentials=credentials), progress=None)

    def load(self, pipeline: Any, rows: list[dict[str, Any]]) -> float:
        resource = self.dlt.resource(rows, name="projects", write_disposition="merge",
                                     primary_key="stage_application")
        started = time.perf_counter()
        pipeline.run(resource)
        return time.perf_counter() - started
