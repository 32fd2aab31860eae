"""POST /import-projects — the upstream's entry point (SPEC §4.1). The import itself (from the
bearer to the recorded request) is `imports/pipeline.py`; this route hands it the request's
headers, query and body, and turns the outcome into the answer (200, or 202 when held)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from projects_import.api.body import discard_body, read_body
from projects_import.api.deps import ServicesDep
from projects_import.api.errors import correlation_id_of
from projects_import.api.openapi_import import (
    IMPORT_BODY,
    IMPORT_PARAMETERS,
    IMPORT_RESPONSES,
)
from projects_import.imports.pipeline import ImportCall

router = APIRouter(tags=["import"])


@router.post("/import-projects", summary="Import one batch of projects",
             description="Stage and merge one batch for the bearer's tenant (one "
                         "transaction). `Content-Encoding: gzip` is accepted; the body limit "
                         "applies to the decoded size.",
             responses=IMPORT_RESPONSES,
             openapi_extra={"requestBody": IMPORT_BODY, "parameters": IMPORT_PARAMETERS})
async def import_projects(request: Request, response: Response,
                          services: ServicesDep) -> Any:  # schema: IMPORT_RESPONSES
    settings = services.settings
    call = ImportCall(
        headers=request.headers, query=request.query_params,
        read_body=lambda: read_body(request, settings.max_body_bytes,
                                    settings.body_timeout_seconds),
        discard_body=lambda: discard_body(request, settings.max_body_bytes,
                                          settings.body_timeout_seconds),
        correlation_id=correlation_id_of(request), fields=request.state.log_fields)
    try:
        outcome = await services.pipeline.run(call)
    finally:  # the error answer and the request's log line carry the batch's correlation id
        request.state.correlation_id = call.correlation_id
    response.status_code = outcome.status
    return outcome.result.as_dict()
