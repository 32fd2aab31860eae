"""/openapi.json is generated from the routes: what a route declares (`responses=`, typed query
parameters, a raw body) is what the document says; the overlay only adds the component schemas,
the security and drops FastAPI's 422 (bad parameters answer 400)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query

from projects_import.api.openapi import TENANT_BEARER, USER_JWT, describe
from projects_import.api.openapi_answers import USER_ERRORS, error, ok
from projects_import.api.openapi_schemas import SCHEMAS


def document() -> dict[str, Any]:
    router = APIRouter(responses=USER_ERRORS)

    @router.get("/things", responses={200: ok("the things", "Health"), 404: error("none")})
    async def things(size: Annotated[int, Query(ge=1, le=9)] = 1) -> dict[str, Any]:
        return {}

    @router.post("/import-projects", responses={422: error("contract violations")})
    async def post() -> dict[str, Any]:
        return {}

    app = FastAPI()
    app.include_router(router)
    return describe(app)


def test_a_routes_own_answers_and_parameters_are_kept() -> None:
    operation = document()["paths"]["/things"]["get"]
    responses = operation["responses"]
    assert responses["404"]["description"] == "none"
    assert responses["200"]["description"] == "the things"
    assert set(responses) == {"200", "400", "401", "403", "404", "500", "503"}  # no 422
    (size,) = operation["parameters"]
    assert (size["name"], size["schema"]["minimum"], size["schema"]["maximum"]) == ("size", 1, 9)
    assert operation["security"] == [{USER_JWT: []}]


def test_the_overlay_adds_schemas_and_security_and_keeps_a_declared_422() -> None:
    found = document()
    operation = found["paths"]["/import-projects"]["post"]
    assert operation["responses"]["422"]["description"] == "contract violations"
    assert operation["security"] == [{TENANT_BEARER: []}]
    schemas = found["components"]["schemas"]
    assert set(SCHEMAS) <= set(schemas) and "HTTPValidationError" not in schemas
    assert set(found["components"]["securitySchemes"]) == {TENANT_BEARER, USER_JWT}
