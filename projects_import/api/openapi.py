"""The OpenAPI document at `/openapi.json`, describing what the service really answers.

FastAPI's generated document knows the routes but not what they read or answer by hand: the
import body (JSON or CSV) read from the stream, the error shape of every 4xx/5xx, the 400
(not FastAPI's 422) for bad parameters, the bearer schemes and the typed query parameters.
This module adds that to the generated paths, so a client generator or a fuzzer can trust it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from projects_import.anomalies.manager import DEFAULT_LIMIT, MAX_LIMIT, MAX_WINDOW_HOURS
from projects_import.imports import limits
from projects_import.imports.contract import COUNT_FIELDS, DATE_FIELD, MAX_COUNT, TEXT_FIELDS
from projects_import.vocabulary import (
    ANOMALY_STATUSES,
    ANOMALY_TYPES,
    FALSE_STRINGS,
    MAX_ROWS,
    MAX_STRING,
    SEVERITIES,
    TENANT_ID_PATTERN,
    TRUE_STRINGS,
)

JSON = "application/json"
TENANT_BEARER = "tenantBearer"
USER_JWT = "userJWT"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


_STRING = {"type": "string"}
# PostgreSQL text holds no NUL; stage_application must have a non-blank character.
_NO_NUL = "^[^\\u0000]*$"
_NOT_BLANK = "^[^\\u0000]*[^\\s\\u0000][^\\u0000]*$"
_INTEGER = {"type": "integer"}
_UUID = {"type": "string", "format": "uuid"}
_TIME = {"type": "string", "format": "date-time"}
_RETRY_AFTER = {"Retry-After": {"description": "seconds to wait before retrying",
                                "required": True, "schema": {"type": "string"}}}

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {"type": "object", "required": ["code", "message", "correlation_id"],
                      "properties": {"code": _STRING, "message": _STRING,
                                     "correlation_id": _UUID}},
            "violations": {"type": "array", "maxItems": 100, "items": _ref("Violation"),
                           "description": "contract errors (422): the first 100"},
            "violations_total": {"type": "integer", "minimum": 1},
        },
    },
    "Violation": {
        "type": "object",
        "required": ["row_index", "field", "code", "message"],
        "properties": {"row_index": _nullable({"type": "integer", "minimum": 0}),
                       "field": _STRING, "code": _STRING, "message": _STRING},
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
                     "items": _ref("ImportRow")},
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
        "properties": {"batch_id": _UUID, "correlation_id": _UUID, "tenant_id": _STRING,
                       "replayed": {"type": "boolean"}, "metrics": _ref("ImportMetrics"),
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
            "id": _INTEGER, "tenant_id": _STRING, "batch_id": _nullable(_UUID),
            "row_index": _nullable(_INTEGER), "project_key": _nullable(_STRING),
            "anomaly_type": _STRING, "severity": {"type": "string", "enum": list(SEVERITIES)},
            "payload_excerpt": _nullable(_STRING), "correlation_id": _nullable(_UUID),
            "created_at": _TIME, "status": _STRING, "acknowledged_at": _nullable(_TIME),
            "acknowledged_by": _nullable(_STRING), "resolved_at": _nullable(_TIME),
            "problem_id": _nullable(_INTEGER),
        },
    },
    "Problem": {
        "type": "object",
        "required": ["id", "tenant_id", "project_key", "anomaly_type", "severity", "status",
                     "occurrences"],
        "properties": {
            "id": _INTEGER, "tenant_id": _STRING, "project_key": _STRING,
            "anomaly_type": _STRING, "severity": {"type": "string", "enum": list(SEVERITIES)},
            "unknown_value": _STRING, "status": _STRING, "first_seen_at": _TIME,
            "last_seen_at": _TIME, "occurrences": _INTEGER, "last_batch_id": _nullable(_UUID),
            "payload_excerpt": _nullable(_STRING), "acknowledged_at": _nullable(_TIME),
            "acknowledged_by": _nullable(_STRING), "resolved_at": _nullable(_TIME),
            "resolved_by": _nullable(_STRING), "resolution": _nullable(_STRING),
            "regressed": {"type": "boolean"}, "ack_due_at": _nullable(_TIME),
            "resolve_due_at": _nullable(_TIME),
            "occurrences_list": {"type": "array", "items": _ref("Anomaly")},
            "events": {"type": "array", "items": {"type": "object"}},
        },
    },
    "ProblemList": {
        "type": "object",
        "required": ["problems", "next_cursor"],
        "properties": {"problems": {"type": "array", "items": _ref("Problem")},
                       "next_cursor": _nullable(_STRING)},
    },
    "ProblemGroup": {
        "type": "object",
        "required": ["tenant_id", "anomaly_type", "severity", "unknown_value", "problems",
                     "projects", "occurrences", "first_seen_at", "last_seen_at", "ack_due_at",
                     "statuses"],
        "properties": {
            "tenant_id": _STRING, "anomaly_type": _STRING,
            "severity": {"type": "string", "enum": list(SEVERITIES)},
            "unknown_value": _STRING, "problems": _INTEGER, "projects": _INTEGER,
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
        "properties": {"groups": {"type": "array", "items": _ref("ProblemGroup")},
                       "next_cursor": _nullable(_STRING)},
    },
    "GroupStepResult": {
        "type": "object",
        "required": ["tenant_id", "anomaly_type", "unknown_value", "status", "changed",
                     "skipped", "problems"],
        "properties": {
            "tenant_id": _STRING, "anomaly_type": _STRING, "unknown_value": _STRING,
            "status": _STRING, "changed": _INTEGER, "skipped": _INTEGER,
            "problems": {"type": "array", "description": "every problem of the group, by id",
                         "items": {"type": "object", "required": ["id", "outcome"],
                                   "properties": {
                                       "id": _INTEGER, "tenant_id": _nullable(_STRING),
                                       "project_key": _nullable(_STRING),
                                       "status_before": _nullable(_STRING),
                                       "status": _nullable(_STRING),
                                       "outcome": {"type": "string", "enum": [
                                           "acknowledged", "resolved", "skipped"]},
                                       "reason": _nullable(_STRING)}}},
        },
    },
    "AnomalyStats": {
        "type": "object",
        "required": ["tenant_id", "anomaly_type", "severity", "count"],
        "properties": {"tenant_id": _STRING, "anomaly_type": _STRING, "severity": _STRING,
                       "count": _INTEGER, "unresolved": _nullable(_INTEGER),
                       "last_seen_at": _nullable(_TIME)},
    },
    "AnomalyList": {
        "anyOf": [
            {"type": "object", "required": ["anomalies"],
             "properties": {"anomalies": {"type": "array", "items": _ref("Anomaly")},
                            "next_cursor": _nullable(_STRING)}},
            {"type": "object", "required": ["stats"],
             "properties": {"stats": {"type": "array", "items": _ref("AnomalyStats")}}},
        ],
    },
    "AnomalyStatus": {
        "type": "object",
        "required": ["id", "tenant_id", "status"],
        "properties": {"id": _INTEGER, "tenant_id": _STRING, "status": _STRING,
                       "acknowledged_at": _nullable(_TIME),
                       "acknowledged_by": _nullable(_STRING),
                       "resolved_at": _nullable(_TIME)},
    },
    "AlertSummary": {
        "type": "object",
        "required": ["alerted", "window_hours", "threshold", "total"],
        "properties": {"alerted": {"type": "boolean"}, "window_hours": _INTEGER,
                       "threshold": _nullable(_INTEGER), "total": _INTEGER},
    },
    "Health": {"type": "object", "required": ["status"], "properties": {"status": _STRING}},
}

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


def _error(description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {"description": description,
                                "content": {JSON: {"schema": _ref("Error")}}}
    if headers:
        response["headers"] = headers
    return response


def _ok(description: str, schema: str) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": _ref(schema)}}}


_UNAVAILABLE = _error("`database_unavailable`: the database is unreachable or restarting; "
                      "`retry`: rolled back for a concurrent change of the same records. "
                      "Nothing was written; send the request again", _RETRY_AFTER)
_INTERNAL = _error("unexpected server error; nothing was written")
_USER_ERRORS = {
    "400": _error("a parameter is invalid (the message names it)"),
    "401": _error("missing, invalid or expired user JWT",
                  {"WWW-Authenticate": {"schema": _STRING}}),
    "403": _error("the token's role is not operator or admin"),
    "500": _INTERNAL,
    "503": _UNAVAILABLE,
}

_IMPORT = {
    "security": [{TENANT_BEARER: []}],
    "description": "Stage and merge one batch for the bearer's tenant (one transaction). "
                   "`Content-Encoding: gzip` is accepted; the body limit applies to the "
                   "decoded size.",
    "parameters": [
        *({"name": name, "in": "query", "required": False,
           "description": f"text/csv only (ignored for JSON): the batch's {name}",
           "schema": {"type": "string"}}
          for name in ("tenant_id", "batch_id", "source", "correlation_id")),
        {"name": "dry_run", "in": "query", "required": False,
         "description": "true: validate, merge and audit in a transaction that is rolled "
                        "back, and answer what the import would do (nothing staged)",
         "schema": {"type": "string", "enum": ["true", "false", "1", "0"]}},
    ],
    "requestBody": {
        "required": True,
        "content": {
            JSON: {"schema": _ref("ImportRequest"), "example": {
                "tenant_id": "TELCO", "source": "projects-import",
                "batch_id": "2025-08-18T17:00:00+0930-batch-001", "rows": [_EXAMPLE_ROW]}},
            "text/csv": {"schema": {"type": "string"},
                         "description": "the same columns; tenant_id and batch_id as query "
                                        "parameters",
                         "example": _CSV_EXAMPLE},
        },
    },
    "responses": {
        "200": _ok("accepted: merged, or a replay of the same batch: its `batch_id` with the "
                   "same rows (`replayed`); with `dry_run`, what the import would do "
                   "(`dry_run`, `audit`)", "ImportResult"),
        "202": _ok("held for review: over one of the tenant's audit limits, staged but not "
                   "published (`held`, `audit.findings`; `metrics` = what publishing would "
                   "do); a re-send answers 202 again (`replayed`)", "ImportResult"),
        "400": _error("not JSON / CSV, not an object, `rows` not an array, wrong content "
                      "type or encoding"),
        "401": _error("missing or invalid bearer, or one of another tenant",
                      {"WWW-Authenticate": {"schema": _STRING}}),
        "408": _error("the body did not arrive within the body timeout"),
        "413": _error("body over the limit (checked before and while reading)"),
        "422": _error("contract violations, listed in `violations` (first 100)"),
        "429": _error("another import for this tenant is in progress", _RETRY_AFTER),
        "500": _INTERNAL,
        "503": _error("`database_unavailable`: the database is unreachable or restarting; "
                      "`worker_unavailable`: the worker process preparing the batch stopped; "
                      "`retry`: rolled back for a concurrent change of the same records "
                      "(a deadlock). Nothing was written; send the request again",
                      _RETRY_AFTER),
    },
}

def _any_case(words: Iterable[str]) -> str:
    return "|".join("".join(f"[{c.upper()}{c}]" if c.isalpha() else re.escape(c) for c in word)
                    for word in sorted(words))


def _comma_list(words: tuple[str, ...]) -> str:
    """A pattern for a comma list of `words` in any case, blanks allowed (as parsed)."""
    item = rf"\s*({_any_case(words)})?\s*"
    return f"^{item}(,{item})*$"


def _blank_or(pattern: str) -> str:
    """A value matching `pattern` (anchored ^…$), or blank, with spaces around (as parsed)."""
    return rf"^\s*({pattern.removeprefix('^').removesuffix('$')})?\s*$"


def _one_of(words: Iterable[str]) -> str:
    """A pattern for one of `words` in any case, or blank, with spaces around (as parsed)."""
    return rf"^\s*({_any_case(words)})?\s*$"


_ANOMALY_PARAMETERS = [
    {"name": "windowHours", "in": "query", "required": False,
     "schema": {"type": "integer", "minimum": 1, "maximum": MAX_WINDOW_HOURS, "default": 24}},
    {"name": "tenant", "in": "query", "required": False, "description": "only this tenant",
     "schema": {"type": "string", "pattern": _blank_or(TENANT_ID_PATTERN)}},
    {"name": "severity", "in": "query", "required": False,
     "description": f"comma list of {', '.join(SEVERITIES)} (any case); blank: all",
     "schema": {"type": "string", "pattern": _comma_list(SEVERITIES)}},
    {"name": "stats", "in": "query", "required": False,
     "description": "true (also t, yes, y, 1, on, or blank): aggregates by tenant, "
                    "anomaly_type, severity",
     "schema": {"anyOf": [{"type": "boolean"},
                          {"type": "string", "pattern": _one_of(TRUE_STRINGS | FALSE_STRINGS)}],
                "default": False}},
    {"name": "limit", "in": "query", "required": False,
     "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT,
                "default": DEFAULT_LIMIT}},
]

# The filters GET /anomalies and GET /anomalies/problems share (SPEC §9).
_FILTER_PARAMETERS: list[dict[str, Any]] = [
    {"name": "anomaly_type", "in": "query", "required": False,
     "description": f"comma list of {', '.join(ANOMALY_TYPES)} (any case); blank: all",
     "schema": {"type": "string", "pattern": _comma_list(ANOMALY_TYPES)}},
    {"name": "status", "in": "query", "required": False,
     "description": f"comma list of {', '.join(ANOMALY_STATUSES)} (any case)",
     "schema": {"type": "string", "pattern": _comma_list(ANOMALY_STATUSES)}},
    {"name": "batch_id", "in": "query", "required": False,
     "description": "a batch: its UUID, or the upstream batch_id string it was sent with",
     "schema": {"type": "string", "maxLength": MAX_STRING, "pattern": _NO_NUL}},
    {"name": "project_key", "in": "query", "required": False,
     "description": "one project (stage_application)",
     "schema": {"type": "string", "maxLength": MAX_STRING, "pattern": _NO_NUL}},
    {"name": "cursor", "in": "query", "required": False,
     "description": "`next_cursor` of the previous page, unchanged (any other value is a 400)",
     "schema": {"type": "string", "maxLength": 512}},
]
_PROBLEM_PARAMETERS: list[dict[str, Any]] = [
    p for p in _ANOMALY_PARAMETERS if p["name"] in ("tenant", "severity", "limit")]
_PROBLEM_PARAMETERS += [{**p, "description": p["description"] + "; default: open"}
                        if p["name"] == "status" else p for p in _FILTER_PARAMETERS]
_PROBLEM_PARAMETERS.append(
    {"name": "overdue", "in": "query", "required": False,
     "description": "true: only problems past an SLA clock; false: only those within",
     "schema": {"anyOf": [{"type": "boolean"},
                          {"type": "string", "pattern": _one_of(TRUE_STRINGS | FALSE_STRINGS)}]}})

_PROBLEM_STEP = {
    "security": [{USER_JWT: []}],
    "responses": {
        "200": _ok("the problem after the step", "Problem"),
        **_USER_ERRORS,
        "404": _error("no such problem"),
        "409": _error("the problem is resolved: it cannot be acknowledged"),
    },
}

_GROUP_STEP = {
    "security": [{USER_JWT: []}],
    "responses": {
        "200": _ok("what the step did to each problem of the group (done or skipped, why)",
                   "GroupStepResult"),
        **_USER_ERRORS,
        "404": _error("the tenant has no problem of that type and unknown value"),
    },
}

_STATUS_CHANGE = {
    "security": [{USER_JWT: []}],
    "responses": {
        "200": _ok("the anomaly's new status", "AnomalyStatus"),
        **_USER_ERRORS,
        "404": _error("no such anomaly"),
        "409": _error("the anomaly is already in (or past) that status"),
    },
}

# path -> method -> what FastAPI cannot know; other routes get the generic treatment below
OPERATIONS: dict[str, dict[str, dict[str, Any]]] = {
    "/import-projects": {"post": _IMPORT},
    "/anomalies": {"get": {
        "security": [{USER_JWT: []}],
        "parameters": _ANOMALY_PARAMETERS + _FILTER_PARAMETERS,
        "responses": {"200": _ok("`anomalies` (most recent first) and `next_cursor`, or, with "
                                 "stats=true, `stats`", "AnomalyList"), **_USER_ERRORS},
    }},
    "/anomalies/problems": {"get": {
        "security": [{USER_JWT: []}],
        "parameters": _PROBLEM_PARAMETERS,
        "responses": {"200": _ok("`problems` (most recently seen first) and `next_cursor`",
                                 "ProblemList"), **_USER_ERRORS},
    }},
    "/anomalies/problems/groups": {"get": {
        "security": [{USER_JWT: []}],
        "parameters": _PROBLEM_PARAMETERS,
        "responses": {"200": _ok("`groups` (most recently seen first) and `next_cursor`",
                                 "ProblemGroupList"), **_USER_ERRORS},
    }},
    "/anomalies/problems/groups/acknowledge": {"post": _GROUP_STEP},
    "/anomalies/problems/groups/resolve": {"post": _GROUP_STEP},
    "/anomalies/problems/{problem_id}": {"get": {
        "security": [{USER_JWT: []}],
        "responses": {"200": _ok("the problem with `occurrences_list` and `events`", "Problem"),
                      **_USER_ERRORS, "404": _error("no such problem")},
    }},
    "/anomalies/problems/{problem_id}/acknowledge": {"post": _PROBLEM_STEP},
    "/anomalies/problems/{problem_id}/resolve": {"post": _PROBLEM_STEP},
    "/anomalies/alerts": {"post": {
        "security": [{USER_JWT: []}],
        "responses": {
            "200": _ok("below the threshold: not alerted", "AlertSummary"),
            "202": _ok("the aggregate alert was posted to the webhook", "AlertSummary"),
            "204": {"description": "no webhook configured"},
            **{k: v for k, v in _USER_ERRORS.items() if k != "400"},
            "502": _error("the webhook is invalid or failed"),
        },
    }},
    "/anomalies/{anomaly_id}/acknowledge": {"post": _STATUS_CHANGE},
    "/anomalies/{anomaly_id}/resolve": {"post": _STATUS_CHANGE},
    "/healthz": {"get": {"responses": {"200": _ok("the process is up", "Health")}}},
    "/readyz": {"get": {"responses": {
        "200": _ok("the database answers and migrations are current", "Health"),
        "503": {**_ok("the database is unreachable or migrations are pending", "Health"),
                "headers": _RETRY_AFTER},
    }}},
    "/metrics": {"get": {"responses": {"200": {
        "description": "Prometheus text format",
        "content": {"text/plain": {"schema": {"type": "string"}}}}}}},
}


def describe(app: FastAPI) -> dict[str, Any]:
    """The generated document with the service's real bodies, answers and security."""
    document = get_openapi(title=app.title, version=app.version, routes=app.routes,
                           description="Idempotent per-tenant import of development projects, "
                                       "and the operators' anomaly tools.")
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    schemas.update(SCHEMAS)
    components["securitySchemes"] = {
        TENANT_BEARER: {"type": "http", "scheme": "bearer",
                        "description": "the tenant's secret (`projects-import tenant add`)"},
        USER_JWT: {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                   "description": "a Supabase-shaped HS256 user JWT with app_metadata.role "
                                  "operator or admin"},
    }
    for path, methods in document.get("paths", {}).items():
        for method, operation in methods.items():
            known = OPERATIONS.get(path, {}).get(method)
            if known is None:
                _generic(path, operation)
                continue
            path_parameters = [p for p in operation.get("parameters", []) if p["in"] == "path"]
            operation.update(known)
            if path_parameters:
                operation["parameters"] = path_parameters + known.get("parameters", [])
    return document


def _generic(path: str, operation: dict[str, Any]) -> None:
    """A route this module does not describe in detail: bad parameters are 400 with the
    error shape (not FastAPI's 422); operator routes take the user JWT."""
    responses = operation.setdefault("responses", {})
    responses.pop("422", None)
    if path != "/import-projects" and not path.startswith(("/healthz", "/readyz", "/metrics")):
        operation.setdefault("security", [{USER_JWT: []}])
        for code, response in _USER_ERRORS.items():
            responses.setdefault(code, response)


def install_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = describe(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
