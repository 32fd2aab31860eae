"""The OpenAPI answers routes declare in `responses=`: the error shape of every 4xx/5xx (raised,
not returned, so FastAPI cannot see them) and the component schema of each success."""

from __future__ import annotations

from typing import Any

from projects_import.api.openapi_schemas import STRING, ref

JSON = "application/json"
RETRY_AFTER = {"Retry-After": {"description": "seconds to wait before retrying",
                               "required": True, "schema": {"type": "string"}}}
Responses = dict[int | str, dict[str, Any]]


def error(description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    """An error answer: `{"error": {code, message, correlation_id}}`."""
    response: dict[str, Any] = {"description": description,
                                "content": {JSON: {"schema": ref("Error")}}}
    if headers:
        response["headers"] = headers
    return response


def ok(description: str, schema: str) -> dict[str, Any]:
    """A success answer of the component schema `schema`."""
    return {"description": description, "content": {JSON: {"schema": ref(schema)}}}


INTERNAL = error("unexpected server error; nothing was written")
UNAVAILABLE = error("`database_unavailable`: the database is unreachable or restarting; "
                    "`retry`: rolled back for a concurrent change of the same records. "
                    "Nothing was written; send the request again", RETRY_AFTER)
# what every operator route may answer (its router declares them)
USER_ERRORS: Responses = {
    400: error("a parameter is invalid (the message names it)"),
    401: error("missing, invalid or expired user JWT", {"WWW-Authenticate": {"schema": STRING}}),
    403: error("the token's role is not operator or admin"),
    500: INTERNAL,
    503: UNAVAILABLE,
}

PROBLEM_STEP: Responses = {
    200: ok("the problem after the step", "Problem"),
    404: error("no such problem"),
    409: error("the problem is resolved: it cannot be acknowledged"),
}
GROUP_STEP: Responses = {
    200: ok("what the step did to each problem of the group (done or skipped, why)",
            "GroupStepResult"),
    404: error("the tenant has no problem of that type and unknown value"),
}
STATUS_CHANGE: Responses = {
    200: ok("the anomaly's new status", "AnomalyStatus"),
    404: error("no such anomaly"),
    409: error("the anomaly is already in (or past) that status"),
}
