"""GET /anomalies/problems, GET /anomalies/problems/{id} and the acknowledge/resolve steps
on a problem (SPEC §9). Reads and steps run in the database as the caller, which records the
caller's JWT `sub` as acknowledged_by / resolved_by."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Request
from pydantic import BaseModel, ConfigDict, Field, field_validator

from projects_import.api.deps import CursorsDep, OperatorClaims, ProblemsDep
from projects_import.api.openapi_answers import PROBLEM_STEP, USER_ERRORS, error, ok
from projects_import.api.params import ProblemSelection, StrictQuery

router = APIRouter(tags=["problems"], dependencies=[StrictQuery], responses=USER_ERRORS)

ProblemId = Annotated[int, Path(ge=1, le=2**63 - 1, description="the problem's id")]


class StatusNote(BaseModel):
    """Optional body of acknowledge/resolve: why, in a few words (kept with the problem and
    its history)."""

    model_config = ConfigDict(extra="forbid")
    note: str | None = Field(default=None, max_length=2000)

    @field_validator("note")
    @classmethod
    def _storable(cls, value: str | None) -> str | None:
        """Free text: a character PostgreSQL cannot hold (NUL, a lone surrogate) becomes
        U+FFFD rather than failing the step."""
        if value is None:
            return None
        return "".join("\ufffd" if ch == "\x00" or "\ud800" <= ch <= "\udfff" else ch
                       for ch in value)


NoteBody = Annotated[StatusNote | None, Body()]


@router.get("/anomalies/problems", summary="Problems (open ones unless status says otherwise)",
            responses={200: ok("`problems` (most recently seen first) and `next_cursor`",
                               "ProblemList")})
async def list_problems(request: Request, problems: ProblemsDep, cursors: CursorsDep,
                        claims: OperatorClaims, selection: ProblemSelection) -> dict[str, Any]:
    if selection.tenant:
        request.state.log_fields["tenant_id"] = selection.tenant
    rows, after = await problems.page(claims, selection)
    request.state.log_fields["rows"] = len(rows)
    return {"problems": rows,
            "next_cursor": cursors.encode("problems", *after) if after else None}


@router.get("/anomalies/problems/{problem_id}", summary="One problem with its occurrences",
            responses={200: ok("the problem with `occurrences_list` and `events`", "Problem"),
                       404: error("no such problem")})
async def get_problem(request: Request, problems: ProblemsDep, claims: OperatorClaims,
                      problem_id: ProblemId) -> dict[str, Any]:
    found = await problems.get(claims, problem_id)
    request.state.log_fields["tenant_id"] = found["tenant_id"]
    return found


async def _step(request: Request, problems: ProblemsDep, claims: dict[str, Any],
                problem_id: int, status: str, body: StatusNote | None) -> dict[str, Any]:
    row = await problems.set_status(claims, problem_id, status, body.note if body else None)
    request.state.log_fields["tenant_id"] = row["tenant_id"]
    return row


@router.post("/anomalies/problems/{problem_id}/acknowledge", summary="Acknowledge a problem",
             responses=PROBLEM_STEP)
async def acknowledge_problem(request: Request, problems: ProblemsDep, claims: OperatorClaims,
                              problem_id: ProblemId, body: NoteBody = None) -> dict[str, Any]:
    return await _step(request, problems, claims, problem_id, "acknowledged", body)


@router.post("/anomalies/problems/{problem_id}/resolve", summary="Resolve a problem by hand",
             responses=PROBLEM_STEP)
async def resolve_problem(request: Request, problems: ProblemsDep, claims: OperatorClaims,
                          problem_id: ProblemId, body: NoteBody = None) -> dict[str, Any]:
    return await _step(request, problems, claims, problem_id, "resolved", body)
