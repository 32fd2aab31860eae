"""The console's worklist, problem detail and directory pages.

Server-rendered like the Overview; every action is a plain POST form carrying the session's
CSRF token, answered with a redirect back to the page (post/redirect/get). Reads and writes run
under the signed-in user's claims, so a viewer is refused by the database as well as here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from projects_import.anomalies.groups import GroupKey
from projects_import.api.deps import DirectoriesDep, FixesDep, WorklistDep
from projects_import.api.pages import (
    PageAnswer,
    PageSession,
    PageUser,
    page,
    read_form_pairs,
    redirect,
    refused_page,
)
from projects_import.console.directories import DIRECTORIES, DirectoryConsole
from projects_import.console.errors import ConsoleError
from projects_import.console.fixes import FixPlan
from projects_import.console.worklist import (
    CAUSE_SORTS,
    MAX_SELECTED,
    SORTS,
    STATUSES,
    Worklist,
    WorklistFilter,
)
from projects_import.errors import Forbidden, ProjectsImportError
from projects_import.query_names import check_query_names
from projects_import.vocabulary import ANOMALY_TYPES, SEVERITIES

router = APIRouter(tags=["console"], include_in_schema=False)


def _admin_only(session: PageSession) -> None:
    if not session.admin:
        raise Forbidden("your role may not do this: directory changes are for admins")


async def _form(request: Request, session: PageSession,
                max_fields: int = 20) -> list[tuple[str, str]]:
    pairs = await read_form_pairs(request, max_fields)
    session.check(dict(reversed(pairs)))
    return pairs


def _id(text: str, name: str = "id") -> int:
    if not text.isdigit() or len(text) > 18:
        raise ConsoleError(f"{name} must be a whole number, not {text[:40]!r}")
    return int(text)


# ------------------------------------------------------------------------------ worklist

async def _worklist_page(session: PageSession, worklist: Worklist, chosen: WorklistFilter, *,
                         status: int = 200, flash: str | None = None,
                         result: dict[str, Any] | None = None, error: str | None = None,
                         note: str = "", selected: frozenset[int] = frozenset(),
                         cause: tuple[str, str, str] | None = None) -> Response:
    """The worklist in its chosen view; after an action, with what it did (`result`) or why
    it was refused (`error`), the note and the selection kept."""
    common = {"title": "Problems", "section": "problems", "user": session.user,
              "csrf": session.csrf, "f": chosen, "flash": flash, "result": result,
              "error": error, "note": note, "selected": selected, "cause": cause,
              "anomaly_types": ANOMALY_TYPES, "severities": SEVERITIES, "statuses": STATUSES,
              "max_selected": MAX_SELECTED, "admin": session.admin}
    if chosen.view == "causes":
        causes = await worklist.causes(session.claims, chosen)
        return page("causes.html", status, page=causes, sorts=CAUSE_SORTS, **common)
    found = await worklist.page(session.claims, chosen)
    return page("problems.html", status, page=found, sorts=SORTS, **common)


@router.get("/dashboard/problems")
async def problems(request: Request, session: PageUser, worklist: WorklistDep) -> Response:
    try:
        chosen = WorklistFilter.parse(request.query_params.multi_items(),
                                     extra=("updated", "action"))
        flash = _bulk_flash(request.query_params.get("updated"),
                            request.query_params.get("action"))
        return await _worklist_page(session, worklist, chosen, flash=flash)
    except ProjectsImportError as exc:
        return refused_page(exc, session)


def _bulk_flash(updated: str | None, action: str | None) -> str | None:
    if updated is None or not updated.isdigit() or action not in ("acknowledged", "resolved"):
        return None
    count = int(updated)
    return f"{count} problem{'s' if count != 1 else ''} {action}."


@router.get("/dashboard/problems.csv")
async def problems_csv(request: Request, session: PageUser,
                       worklist: WorklistDep) -> Response:
    try:
        chosen = WorklistFilter.parse(request.query_params.multi_items())
        text = await worklist.export(session.claims, chosen)
    except ProjectsImportError as exc:
        return refused_page(exc, session)
    return Response(text, media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": 'attachment; filename="problems.csv"',
        "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})


STEP_OF_ACTION = {"acknowledge": "acknowledged", "resolve": "resolved"}


@router.post("/dashboard/problems/status")
async def problems_set_status(request: Request, session: PageUser,
                              worklist: WorklistDep) -> Response:
    """Acknowledge or resolve the selected problems that can take the step; the same worklist
    again, saying per problem what was done or skipped and why, note and selection kept."""
    try:
        pairs = await _form(request, session, max_fields=MAX_SELECTED + 10)
        form = dict(reversed(pairs))
        back = WorklistFilter.parse(_query_pairs(form.get("back", "")))
    except ProjectsImportError as exc:
        return refused_page(exc, session)
    note = form.get("note", "")
    selected: frozenset[int] = frozenset()
    try:
        ids = [_id(value) for name, value in pairs if name == "id"]
        selected = frozenset(ids)
        status = STEP_OF_ACTION.get(form.get("action", ""))
        if status is None:
            raise ConsoleError("choose acknowledge or resolve")
        result = await worklist.set_status(session.claims, ids, status, note)
    except ProjectsImportError as exc:
        if isinstance(exc, Forbidden | PageAnswer):
            return refused_page(exc, session)
        return await _worklist_page(session, worklist, replace(back, view="problems"),
                                    status=exc.http_status, error=exc.message, note=note,
                                    selected=selected)
    target = form.get("return_to", "")
    if target.isdigit():
        return redirect(f"/dashboard/problems/{target}")
    return await _worklist_page(session, worklist, replace(back, view="problems"),
                                result=result, note=note, selected=selected)


@router.post("/dashboard/problems/groups/status")
async def groups_set_status(request: Request, session: PageUser,
                            worklist: WorklistDep) -> Response:
    """Acknowledge or resolve every problem of one cause that can take the step; the causes
    again, saying per problem what was done or skipped and why."""
    try:
        form = dict(reversed(await _form(request, session)))
        back = WorklistFilter.parse(_query_pairs(form.get("back", "")))
    except ProjectsImportError as exc:
        return refused_page(exc, session)
    note = form.get("note", "")
    key = GroupKey(form.get("tenant", ""), form.get("type", ""), form.get("value", ""))
    cause = (key.tenant_id, key.anomaly_type, key.unknown_value)
    try:
        status = STEP_OF_ACTION.get(form.get("action", ""))
        if status is None:
            raise ConsoleError("choose acknowledge or resolve")
        if key.anomaly_type not in ANOMALY_TYPES or not key.unknown_value:
            raise ConsoleError("the cause must name a tenant, an anomaly type and a value")
        result = await worklist.set_group_status(session.claims, key, status, note)
    except ProjectsImportError as exc:
        if isinstance(exc, Forbidden | PageAnswer):
            return refused_page(exc, session)
        return await _worklist_page(session, worklist, replace(back, view="causes"),
                                    status=exc.http_status, error=exc.message, note=note,
                                    cause=cause)
    return await _worklist_page(session, worklist, replace(back, view="causes"),
                                result=result, note=note, cause=cause)


def _fix_plan(values: Mapping[str, str]) -> FixPlan:
    return FixPlan(tenant_id=values.get("tenant", ""), anomaly_type=values.get("type", ""),
                   value=values.get("value", ""), canonical=values.get("canonical") or None,
                   username=values.get("username") or None,
                   display_name=values.get("display_name") or None)


async def _fix_page(session: PageSession, worklist: Worklist, plan: FixPlan, *,
                    status: int = 200, **context: Any) -> Response:
    """The fix page of one cause: its figures, suggestions, and the preview or result."""
    chosen = WorklistFilter(tenant=plan.tenant_id, anomaly_type=plan.anomaly_type,
                            value=plan.value, status="all")
    causes = await worklist.causes(session.claims, chosen)
    suggestions = await worklist.suggestions(session.claims, plan.tenant_id,
                                             plan.anomaly_type, plan.value)
    return page("cause_fix.html", status, title=f"Fix {plan.value}", section="problems",
                 user=session.user, csrf=session.csrf, plan=plan,
                 cause=causes.rows[0] if causes.rows else None, suggestions=suggestions,
                 back=chosen.query_string(view="causes", status="open", value=""),
                 **context)


FIX_PARAMETERS = ("tenant", "type", "value", "canonical", "username", "display_name")


@router.get("/dashboard/problems/groups/fix")
async def cause_fix(request: Request, session: PageUser, worklist: WorklistDep,
                    fixes: FixesDep) -> Response:
    """Admins: choose what a cause's value means, and preview what the fix will change."""
    try:
        _admin_only(session)
        check_query_names(request.query_params.multi_items(), FIX_PARAMETERS,
                          "the fix page")
        plan = _fix_plan(request.query_params)
        preview = await fixes.preview(session.claims, plan) if plan.ready else None
        return await _fix_page(session, worklist, plan, preview=preview)
    except ProjectsImportError as exc:
        return refused_page(exc, session)


@router.post("/dashboard/problems/groups/fix")
async def cause_fix_apply(request: Request, session: PageUser, worklist: WorklistDep,
                          fixes: FixesDep) -> Response:
    """Admins: apply the fix previewed; the page says what it did and offers the undo."""
    try:
        form = dict(reversed(await _form(request, session)))
        _admin_only(session)
        plan = _fix_plan(form)
        if not plan.ready:
            raise ConsoleError("choose the canonical partner (or the DS/RM entry) first")
        done = await fixes.apply(session.claims, plan)
        return await _fix_page(session, worklist, plan, done=done)
    except ProjectsImportError as exc:
        return refused_page(exc, session)


@router.post("/dashboard/directories/changes/{change_id}/undo")
async def change_undo(change_id: str, request: Request, session: PageUser,
                      worklist: WorklistDep, fixes: FixesDep) -> Response:
    """Admins: revert a directory change; its projects re-resolve, its problems reopen."""
    try:
        form = dict(reversed(await _form(request, session)))
        _admin_only(session)
        undone = await fixes.undo(session.claims, form.get("tenant", ""),
                                  _id(change_id, "change"))
        if form.get("type") and form.get("value"):
            return await _fix_page(session, worklist, _fix_plan(form), undone=undone)
    except ProjectsImportError as exc:
        return refused_page(exc, session)
    return redirect(f"/dashboard/directories/changes?{urlencode({'tenant': form['tenant']})}")


@router.get("/dashboard/batches/{batch_id}")
async def batch_import(batch_id: str, session: PageUser, worklist: WorklistDep) -> Response:
    """A batch (our UUID) as the import request that staged it."""
    try:
        found = await worklist.batch_import(session.claims, batch_id)
    except ProjectsImportError as exc:
        return refused_page(exc, session)
    return redirect(f"/dashboard/imports/{found}")


def _query_pairs(text: str) -> list[tuple[str, str]]:
    try:
        return parse_qsl(text, keep_blank_values=True, max_num_fields=20)
    except ValueError as exc:
        raise ConsoleError("the worklist's filters cannot be read") from exc



async def _shown_change(request: Request, session: PageSession,
                        console: DirectoryConsole) -> dict[str, Any] | None:
    """The directory change named by `?change=` (the page just applied it), if any."""
    raw_change = request.query_params.get("change")
    if not raw_change:
        return None
    found = await console.changes(session.claims, change_id=_id(raw_change, "change"))
    return found[0] if found else None

@router.get("/dashboard/problems/{problem_id}")
async def problem_detail(problem_id: str, request: Request, session: PageUser,
                         worklist: WorklistDep, console: DirectoriesDep) -> Response:
    try:
        detail = await worklist.detail(session.claims, _id(problem_id))
        change = await _shown_change(request, session, console)
    except ProjectsImportError as exc:
        return refused_page(exc, session)
    return page("problem.html", title=f"Problem {problem_id}", section="problems",
                 user=session.user, csrf=session.csrf, d=detail, p=detail.problem,
                 change=change, admin=session.admin, directories=DIRECTORIES)


@router.post("/dashboard/problems/{problem_id}/fix")
async def problem_fix(problem_id: str, request: Request, session: PageUser,
                      worklist: WorklistDep, console: DirectoriesDep) -> Response:
    """The one-click fix: map the unknown partner to a canonical one (adds the alias), or
    reactivate the DS/RM it names; the affected projects re-resolve at once."""
    try:
        form = dict(reversed(await _form(request, session)))
        _admin_only(session)
        problem = (await worklist.detail(session.claims, _id(problem_id))).problem
        if problem["anomaly_type"] == "UNKNOWN_DELIVERY_PARTNER":
            result = await console.set_partner(session.claims, problem["tenant_id"],
                                               problem["unknown_value"], form.get("canonical"),
                                               problem["id"])
        else:
            directory = "ds" if problem["anomaly_type"] == "UNKNOWN_DS" else "rm"
            result = await console.set_person(session.claims, problem["tenant_id"], directory,
                                              form.get("username"), form.get("display_name"),
                                              True, problem["id"])
    except ProjectsImportError as exc:
        return refused_page(exc, session)
    suffix = f"?change={result.change_id}" if result.change_id is not None else ""
    return redirect(f"/dashboard/problems/{problem['id']}{suffix}")


# --------------------------------------------------------------------------- directories

def _directory_params(request: Request,
                      tenants: list[dict[str, Any]]) -> tuple[str, str, str | None]:
    check_query_names(request.query_params.multi_items(), ("tenant", "directory", "q", "change"),
                      "the directories page")
    ids = [t["tenant_id"] for t in tenants]
    tenant = request.query_params.get("tenant") or (ids[0] if ids else "")
    if tenant and tenant not in ids:
        raise ConsoleError(f"no tenant {tenant[:70]!r}", http_status=404)
    directory = request.query_params.get("directory") or "partners"
    if directory not in DIRECTORIES:
        raise ConsoleError(f"directory must be one of {', '.join(DIRECTORIES)}")
    search = (request.query_params.get("q") or "").strip()[:256] or None
    return tenant, directory, search


@router.get("/dashboard/directories")
async def directories(request: Request, session: PageUser,
                      console: DirectoriesDep) -> Response:
    try:
        tenants = await console.tenants(session.claims)
        tenant, directory, search = _directory_params(request, tenants)
        entries = (await console.entries(session.claims, tenant, directory, search)
                   if tenant else [])
        change = await _shown_change(request, session, console)
    except ProjectsImportError as exc:
        return refused_page(exc, session)
    return page("directories.html", title="Directories", section="directories",
                 user=session.user, csrf=session.csrf, tenants=tenants, tenant=tenant,
                 directory=directory, search=search or "", entries=entries,
                 directories=DIRECTORIES, admin=session.admin, change=change)


@router.post("/dashboard/directories")
async def directories_write(request: Request, session: PageUser,
                            console: DirectoriesDep) -> Response:
    """Add, change, deactivate or reactivate one directory entry (admins)."""
    try:
        form = dict(reversed(await _form(request, session)))
        _admin_only(session)
        tenant, directory = form.get("tenant", ""), form.get("directory", "")
        operation = form.get("op", "")
        if directory == "partners" and operation == "set":
            result = await console.set_partner(session.claims, tenant, form.get("alias"),
                                               form.get("canonical"))
        elif directory == "partners" and operation == "remove":
            result = await console.remove_partner(session.claims, tenant, form.get("alias"))
        elif directory in ("ds", "rm") and operation in ("set", "deactivate", "reactivate"):
            result = await console.set_person(
                session.claims, tenant, directory, form.get("username"),
                form.get("display_name"), operation != "deactivate")
        else:
            raise ConsoleError("unknown directory operation: choose set, remove, deactivate "
                               "or reactivate for partners, ds or rm")
    except ProjectsImportError as exc:
        return refused_page(exc, session)
    params = {"tenant": tenant, "directory": directory}
    if result.change_id is not None:
        params["change"] = str(result.change_id)
    return redirect(f"/dashboard/directories?{urlencode(params)}")


@router.get("/dashboard/directories/changes")
async def directory_changes(request: Request, session: PageUser,
                            console: DirectoriesDep) -> Response:
    try:
        check_query_names(request.query_params.multi_items(), ("tenant", "page"),
                          "the directory changes page")
        tenant = request.query_params.get("tenant") or None
        number = _id(request.query_params.get("page") or "1", "page") or 1
        tenants = await console.tenants(session.claims)
        rows = await console.changes(session.claims, tenant_id=tenant,
                                     offset=(number - 1) * 200)
    except ProjectsImportError as exc:
        return refused_page(exc, session)
    return page("directory_changes.html", title="Directory changes", section="directories",
                 user=session.user, csrf=session.csrf, tenants=tenants, tenant=tenant or "",
                 rows=rows[:200], more=len(rows) > 200, page_number=number)
