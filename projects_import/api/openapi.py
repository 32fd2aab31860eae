"""The OpenAPI document at `/openapi.json`, describing what the service really answers.

Routes declare their parameters (typed, `api/params.py`), answers (`responses=`,
`api/openapi_answers.py`) and, for the import, its raw body (`api/openapi_import.py`). What this
module adds to the generated document is only what FastAPI cannot express:
- the component schemas the answers refer to (`openapi_schemas.py`): the answers are dicts
  built from SQL rows, with no model to generate them from;
- the security schemes and which operations take which bearer: bearers are read by hand (a 401
  naming what to send), not by FastAPI's security classes, so FastAPI does not know them;
- no 422 `HTTPValidationError`: bad parameters answer 400 `invalid_parameters` with the error
  shape (`api/errors.py`), which the routes declare.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from projects_import.api.openapi_schemas import SCHEMAS

TENANT_BEARER = "tenantBearer"
USER_JWT = "userJWT"
SECURITY_SCHEMES = {
    TENANT_BEARER: {"type": "http", "scheme": "bearer",
                    "description": "the tenant's secret (`projects-import tenant add`)"},
    USER_JWT: {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
               "description": "a Supabase-shaped HS256 user JWT with app_metadata.role "
                              "operator or admin"},
}
# paths without a user JWT: the upstream's import (its tenant bearer) and the probes
_TENANT_PATHS = ("/import-projects",)
_OPEN_PATHS = ("/healthz", "/readyz", "/metrics")


def describe(app: FastAPI) -> dict[str, Any]:
    """The generated document with the component schemas and security FastAPI cannot know."""
    document = get_openapi(title=app.title, version=app.version, routes=app.routes,
                           description="Idempotent per-tenant import of development projects, "
                                       "and the operators' anomaly tools.")
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    schemas.update(SCHEMAS)
    components["securitySchemes"] = SECURITY_SCHEMES
    for path, methods in document.get("paths", {}).items():
        for operation in methods.values():
            responses = operation.setdefault("responses", {})
            if "HTTPValidationError" in str(responses.get("422", "")):  # ours is a 400
                responses.pop("422")
            if path.startswith(_TENANT_PATHS):
                operation["security"] = [{TENANT_BEARER: []}]
            elif not path.startswith(_OPEN_PATHS):
                operation["security"] = [{USER_JWT: []}]
    return document


def install_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = describe(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
