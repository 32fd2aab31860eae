"""The console's pages share one sign-in dependency, one error family and the API's strict
reading of query names."""

from __future__ import annotations

import pytest
from fastapi.dependencies.models import Dependant
from fastapi.responses import Response
from fastapi.routing import APIRoute

from projects_import.api.pages import PageAnswer, page_user, refused_page
from projects_import.api.routes import (
    console_imports,
    console_overview,
    console_problems,
    console_projects,
    console_tenants,
)
from projects_import.console.errors import ConsoleError
from projects_import.console.worklist import WorklistFilter
from projects_import.errors import InvalidParameters, ProjectsImportError
from projects_import.query_names import check_query_names

SIGNED_OUT_PAGES = {"/login", "/logout", "/dashboard/static/{name}"}


def _calls(dependant: Dependant) -> set[object]:
    found = {dependant.call}
    for sub in dependant.dependencies:
        found |= _calls(sub)
    return found


def _page_routes() -> list[APIRoute]:
    modules = (console_overview, console_problems, console_imports, console_tenants,
               console_projects)
    return [route for module in modules for route in module.router.routes
            if isinstance(route, APIRoute) and route.path not in SIGNED_OUT_PAGES]


def test_every_console_page_signs_in_through_page_user() -> None:
    routes = _page_routes()
    assert len(routes) >= 20, [route.path for route in routes]
    missing = [(sorted(route.methods), route.path) for route in routes
               if page_user not in _calls(route.dependant)]
    assert missing == []


def test_page_answers_and_console_refusals_are_one_family() -> None:
    answer = PageAnswer(Response("elsewhere", status_code=303))
    assert isinstance(answer, ProjectsImportError) and answer.http_status == 303
    assert refused_page(answer) is answer.response
    refusal = refused_page(ConsoleError("since must be a date, YYYY-MM-DD"))
    assert refusal.status_code == 400 and b"since must be a date" in refusal.body


def test_the_worklist_reads_query_names_as_the_api_does() -> None:
    with pytest.raises(InvalidParameters, match=r"unknown query parameter.*'sevrity'"):
        check_query_names([("sevrity", "high")], ("severity",), "/anomalies")
    with pytest.raises(InvalidParameters, match=r"unknown query parameter.*'sevrity'.*worklist"):
        WorklistFilter.parse([("sevrity", "high")])
    with pytest.raises(InvalidParameters, match="'tenant' is given more than once"):
        WorklistFilter.parse([("tenant", "TELCO"), ("tenant", "OTHER")])
    assert WorklistFilter.parse([("tenant", "TELCO"), ("view", "problems")]).tenant == "TELCO"
    assert WorklistFilter.parse([("updated", "3")], extra=("updated",)).view == "causes"
