"""The component schemas of `/openapi.json`: the answers are dicts built from SQL rows and the
import body is read raw, so FastAPI has no models to generate them from; they are written here
once, and routes refer to them by name (`openapi_answers.ok`)."""

from __future__ import annotations

from typing import Any

from projects_import.imports import limits
from projects_import.imports.contract import COUNT_FIELDS, DATE_FIELD, MAX_COUNT, TEXT_FIELDS
from projects_import.vocabulary import ANOMALY_STATUSES, MAX_ROWS, MAX_STRING, SEVERITIES


def ref(name: str) -> dict[str, str]:
    """A reference to one of SCHEMAS."""
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


STRING = {"type": "string"}
# PostgreSQL text holds no NUL; stage_application must have a non-blank character.
_NO_NUL = "^[^\\u0000]*$"
_NOT_BLANK = "^[^\\u0000]*[^\\s\\u0000][^\\u0000]*$"
_INTEGER = {"type": "integer"}
_UUID = {"type": "string", "format": "uuid"}
_TIME = {"type": "string", "format": "date-time"}

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {"type": "object", "required": ["code", "message", "correlation_id"],
                      "properties": {"code": STRING, "message": STRING,
                                     "correlation_id": _UUID}},
            "violations": {"type": "array", "maxItems": 100, "items": ref("Violation"),
                           "description": "contract errors (422): the first 100"},
            "violations_total": {"type": "integer", "minimum": 1},
        },
    },
    "Violation": {
        "type": "object",
        "required": ["row_index", "field", "code", "message"],
        "properties": {"row_index": _nullable({"type": "integer", "minimum": 0}),
                       "field": STRING, "code": STRING, "message": STRING},
    },
    "ImportRow": {
        "type": "object",
        "required": ["stage_application"],
        "description": "Unknown keys are kept in the staged raw payload and otherwise ignored.",
        "properties": {
            **{name: _nullable({"type": "string", "maxLength": MAX_STRING,
                                "pattern": _NO_NUL}) for name in TEXT_FIELDS},
            "stage_application": {"type": "string", "minLength": 1, "maxLength": MAX_STRING,
                                  "pattern": _NOT_BLANK,
                                  "description": "unique within the batch"},
            **{name: {"anyOf": [{"type": "integer", "minimum": 0, "maximum": MAX_COUNT},
                                {"type": "string", "pattern": "^ *[0-9]{0,9} *$"},
                                {"type": "null"}],
                      "description": f"a whole number (at most {MAX_COUNT}) or digit string; "
                                     "blank or absent is 0"}
               for name in COUNT_FIELDS},
            DATE_FIELD: _nullable({"type": "string", "format": "date",
                                   "description": "YYYY-MM-DD; blank is null"}),
        },
        "maxProperties": limits.MAX_COLUMNS,
    },
    "ImportRequest": {
        "type": "object",
        "required": ["tenant_id", "rows"],
        "properties": {
            "tenant_id": {"type": "string", "maxLength": MAX_STRING,
                          "description": "must be the bearer's tenant"},
            "source": {"type": "string", "maxLength": MAX_STRING},
            "batch_id": {"type": "string", "maxLength": MAX_STRING,
                         "description": "kept when a UUID, else a UUIDv5 of tenant and text"},
            "correlation_id": {"type": "string", "maxLength": MAX_STRING},
            "rows": {"type": "array", "minItems": 1, "maxItems": MAX_ROWS,
                     "items": ref("ImportRow")},
        },
    },
    "ImportMetrics": {
        "type": "object",
        "required": ["inserted_projects", "updated_projects", "unchanged_projects",
                     "org_memberships_upserted", "user_memberships_upserted",
                     "anomalies_count", "staging_id"],
        "properties": {
            **{name: {"type": "integer", "minimum": 0} for name in (
                "inserted_projects", "updated_projects", "unchanged_projects",
                "org_memberships_upserted", "user_memberships_upserted", "anomalies_count")},
            "staging_id": _nullable(_UUID),
        },
    },
    "ImportResult": {
        "type": "object",
        "required": ["batch_id", "correlation_id", "tenant_id", "replayed", "metrics"],
        "properties": {"batch_id": _UUID, "correlation_id": _UUID, "tenant_id": STRING,
                       "replayed": {"type": "boolean"}, "metrics": ref("ImportMetrics"),
                       "held": {"type": "boolean", "description": "over an audit limit: "
                                "staged, not published (202)"},
                       "dry_run": {"type": "boolean"},
                       "audit": {"type": "object", "description": "the audit's `findings` "
                                 "([{check, observed, limit}]), `observed` shares, `figures` "
                                 "and `limits`"}},
    },
    "Anomaly": {
        "type": "object",
        "required": ["id", "tenant_id", "anomaly_type", "severity", "status", "created_at"],
        "properties": {
            "id": _INTEGER, "tenant_id": STRING, "batch_id": _nullable(_UUID),
            "row_index": _nullable(_INTEGER), "project_key": _nullable(STRING),
            "anomaly_type": STRING, "severity": {"type": "string", "enum": list(SEVERITIES)},
            "payload_excerpt": _nullable(STRING), "correlation_id": _nullable(_UUID),
            "created_at": _TIME, "status": STRING, "acknowledged_at": _nullable(_TIME),
            "acknowledged_by": _nullable(STRING), "resolved_at": _nullable(_TIME),
            "problem_id": _nullable(_INTEGER),
        },
    },
    "Problem": {
        "type": "object",
        "required": ["id", "tenant_id", "project_key", "anomaly_type", "severity", "status",
                     "occurrences"],
        "properties": {
            "id": _INTEGER, "tenant_id": STRING, "project_key": STRING,
            "anomaly_type": STRING, "severity": {"type": "string", "enum": list(SEVERITIES)},
            "unknown_value": STRING, "status": STRING, "first_seen_at": _TIME,
            "last_seen_at": _TIME, "occurrences": _INTEGER, "last_batch_id": _nullable(_UUID),
            "payload_excerpt": _nullable(STRING), "acknowledged_at": _nullable(_TIME),
            "acknowledged_by": _nullable(STRING), "resolved_at": _nullable(_TIME),
            "resolved_by": _nullable(STRING), "resolution": _nullable(STRING),
            "regressed": {"type": "boolean"}, "ack_due_at": _nullable(_TIME),
            "resolve_due_at": _nullable(_TIME),
            "occurrences_list": {"type": "array", "items": ref("Anomaly")},
            "events": {"type": "array", "items": {"type": "object"}},
        },
    },
    "ProblemList": {
        "type": "object",
        "required": ["problems", "next_cursor"],
        "properties": {"problems": {"type": "array", "items": ref("Problem")},
                       "next_cursor": _nullable(STRING)},
    },
    "ProblemGroup": {
        "type": "object",
        "required": ["tenant_id", "anomaly_type", "severity", "unknown_value", "problems",
                     "projects", "occurrences", "first_seen_at", "last_seen_at", "ack_due_at",
                     "statuses"],
        "properties": {
            "tenant_id": STRING, "anomaly_type": STRING,
            "severity": {"type": "string", "enum": list(SEVERITIES)},
            "unknown_value": STRING, "problems": _INTEGER, "projects": _INTEGER,
            "occurrences": _INTEGER, "first_seen_at": _TIME, "last_seen_at": _TIME,
            "ack_due_at": {**_nullable(_TIME),
                           "description": "the earliest of its open problems"},
            "statuses": {"type": "object", "description": "problems by status",
                         "properties": {s: _INTEGER for s in ANOMALY_STATUSES}},
            "resolve_due_at": {**_nullable(_TIME),
                               "description": "the earliest of its unresolved problems"},
            "overdue": {**_INTEGER, "description": "problems past an SLA clock"},
            "group_id": {**_INTEGER, "description": "the group's smallest problem id"},
            "first_batch_id": {**_nullable(_UUID),
                               "description": "the batch of its earliest occurrence"},
        },
    },
    "ProblemGroupList": {
        "type": "object",
        "required": ["groups", "next_cursor"],
        "properties": {"groups": {"type": "array", "items": ref("ProblemGroup")},
                       "next_cursor": _nullable(STRING)},
    },
    "GroupStepResult": {
        "type": "object",
        "required": ["tenant_id", "anomaly_type", "unknown_value", "status", "changed",
                     "skipped", "problems"],
        "properties": {
            "tenant_id": STRING, "anomaly_type": STRING, "unknown_value": STRING,
            "status": STRING, "changed": _INTEGER, "skipped": _INTEGER,
            "problems": {"type": "array", "description": "every problem of the group, by id",
                         "items": {"type": "object", "required": ["id", "outcome"],
                                   "properties": {
                                       "id": _INTEGER, "tenant_id": _nullable(STRING),
                                       "project_key": _nullable(STRING),
                                       "status_before": _nullable(STRING),
                                       "status": _nullable(STRING),
                                       "outcome": {"type": "string", "enum": [
                                           "acknowledged", "resolved", "skipped"]},
                                       "reason": _nullable(STRING)}}},
        },
    },
    "AnomalyStats": {
        "type": "object",
        "required": ["tenant_id", "anomaly_type", "severity", "count"],
        "properties": {"tenant_id": STRING, "anomaly_type": STRING, "severity": STRING,
                       "count": _INTEGER, "unresolved": _nullable(_INTEGER),
                       "last_seen_at": _nullable(_TIME)},
    },
    "AnomalyList": {
        "anyOf": [
            {"type": "object", "required": ["anomalies"],
             "properties": {"anomalies": {"type": "array", "items": ref("Anomaly")},
                            "next_cursor": _nullable(STRING)}},
            {"type": "object", "required": ["stats"],
             "properties": {"stats": {"type": "array", "items": ref("AnomalyStats")}}},
        ],
    },
    "AnomalyStatus": {
        "type": "object",
        "required": ["id", "tenant_id", "status"],
        "properties": {"id": _INTEGER, "tenant_id": STRING, "status": STRING,
                       "acknowledged_at": _nullable(_TIME),
                       "acknowledged_by": _nullable(STRING),
                       "resolved_at": _nullable(_TIME)},
    },
    "AlertSummary": {
        "type": "object",
        "required": ["alerted", "window_hours", "threshold", "total"],
        "properties": {"alerted": {"type": "boolean"}, "window_hours": _INTEGER,
                       "threshold": _nullable(_INTEGER), "total": _INTEGER},
    },
    "Health": {"type": "object", "required": ["status"], "properties": {"status": STRING}},
}
