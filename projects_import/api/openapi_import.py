"""What POST /import-projects declares in OpenAPI beyond its signature. FastAPI cannot infer
these: the body is read raw from the stream by the pipeline (JSON, CSV, gzip), not parsed by
FastAPI; the envelope parameters are read from the raw query (a CSV body's; part of the
request's digest, so FastAPI must not parse them); the answers are raised, not returned."""

from __future__ import annotations

from typing import Any

from projects_import.api.openapi_answers import INTERNAL, JSON, RETRY_AFTER, Responses, error, ok
from projects_import.api.openapi_schemas import STRING, ref

_EXAMPLE_ROW = {
    "stage_application": "STG-000000000001", "delivery_partner": "Fulton Hogan",
    "developer_class": "Class 2", "relationship_manager": "First Last",
    "deployment_specialist": "PREFERRED_USERNAME", "residential": "45", "commercial": "5",
    "essential": "", "stage_application_created": "2025-04-01",
}
_CSV_EXAMPLE = ("stage_application,delivery_partner,developer_class,relationship_manager,"
                "deployment_specialist,residential,commercial,essential,"
                "stage_application_created\n"
                "STG-000000000001,Fulton Hogan,Class 2,First Last,PREFERRED_USERNAME,45,5,,"
                "2025-04-01\n")


IMPORT_PARAMETERS: list[dict[str, Any]] = [
    *({"name": name, "in": "query", "required": False,
       "description": f"text/csv only (ignored for JSON): the batch's {name}",
       "schema": {"type": "string"}}
      for name in ("tenant_id", "batch_id", "source", "correlation_id")),
    {"name": "dry_run", "in": "query", "required": False,
     "description": "true: validate, merge and audit in a transaction that is rolled "
                    "back, and answer what the import would do (nothing staged)",
     "schema": {"type": "string", "enum": ["true", "false", "1", "0"]}},
]

IMPORT_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        JSON: {"schema": ref("ImportRequest"), "example": {
            "tenant_id": "TELCO", "source": "projects-import",
            "batch_id": "2025-08-18T17:00:00+0930-batch-001", "rows": [_EXAMPLE_ROW]}},
        "text/csv": {"schema": {"type": "string"},
                     "description": "the same columns; tenant_id and batch_id as query "
                                    "parameters",
                     "example": _CSV_EXAMPLE},
    },
}

IMPORT_RESPONSES: Responses = {
    200: ok("accepted: merged, or a replay of the same batch: its `batch_id` with the "
               "same rows (`replayed`); with `dry_run`, what the import would do "
               "(`dry_run`, `audit`)", "ImportResult"),
    202: ok("held for review: over one of the tenant's audit limits, staged but not "
               "published (`held`, `audit.findings`; `metrics` = what publishing would "
               "do); a re-send answers 202 again (`replayed`)", "ImportResult"),
    400: error("not JSON / CSV, not an object, `rows` not an array, wrong content "
                  "type or encoding"),
    401: error("missing or invalid bearer, or one of another tenant",
                  {"WWW-Authenticate": {"schema": STRING}}),
    408: error("the body did not arrive within the body timeout"),
    413: error("body over the limit (checked before and while reading)"),
    422: error("contract violations, listed in `violations` (first 100)"),
    429: error("another import for this tenant is in progress", RETRY_AFTER),
    500: INTERNAL,
    503: error("`database_unavailable`: the database is unreachable or restarting; "
                  "`worker_unavailable`: the worker process preparing the batch stopped; "
                  "`retry`: rolled back for a concurrent change of the same records "
                  "(a deadlock). Nothing was written; send the request again",
                  RETRY_AFTER),
}
