"""What every console page shares: rendering, the session cookie's user, forms and their CSRF
token, and the answers that replace a page (sign in first, access denied, request refused).

One dependency signs a page in: `PageUser` is the signed-in operator or admin of the request;
a signed-out browser is sent to /login and any other role gets "Access denied", through
`PageAnswer`, which `app.py` maps to its response in one handler. Refusals a page explains are
`ProjectsImportError`s like everywhere else, rendered by `refused_page`.
"""

from __future__ import annotations

import hashlib
import hmac
from functools import cache
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlsplit

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape

from projects_import.api.body import body_chunks
from projects_import.api.deps import UsersDep
from projects_import.console.errors import ConsoleError
from projects_import.console.format import (
    age,
    break_at_underscores,
    code_label,
    project_link,
    sla_badge,
    time_tag,
)
from projects_import.errors import Forbidden, ProjectsImportError
from projects_import.users import User, UserStore
from projects_import.vocabulary import OPERATOR_ROLES

COOKIE = "projects_import_session"
MAX_FORM_BYTES = 16_384
FORM_TIMEOUT_SECONDS = 10.0
# The console's navigation, in the order the bar shows it: (key, label, path).
SECTIONS = (("problems", "Problems", "/dashboard/problems"),
            ("imports", "Imports", "/dashboard/imports"),
            ("tenants", "Tenants", "/dashboard/tenants"),
            ("directories", "Directories", "/dashboard/directories"),
            ("overview", "Overview", "/dashboard"),
            ("docs", "API docs", "/docs"))
CHANGE_VERBS = {"add": "Added to", "update": "Changed in", "deactivate": "Deactivated in",
                "reactivate": "Reactivated in", "remove": "Removed from"}
_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
                               "img-src 'self' data:; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


class FormError(ProjectsImportError):
    """A POST that is not a same-origin, form-encoded request of reasonable size (answered
    as an HTML page, not JSON)."""

    code = "invalid_form"


class PageAnswer(ProjectsImportError):
    """A whole page to answer with instead of the route's (sign in first, access denied, a
    refused form); `app.py` turns it into its response (`page_answer`)."""

    code = "page_answer"

    def __init__(self, response: Response) -> None:
        super().__init__("answered with another page", http_status=response.status_code)
        self.response = response


async def page_answer(request: Request, exc: Exception) -> Response:
    """The one place a `PageAnswer` becomes the response."""
    assert isinstance(exc, PageAnswer)
    return exc.response


@cache
def _templates() -> Environment:
    """Built on first use, not at import; every page gets the console's navigation and the
    time and SLA formatting."""
    environment = Environment(loader=PackageLoader("projects_import.console", "templates"),
                              autoescape=select_autoescape(default=True,
                                                           default_for_string=True))
    environment.globals.update(console_sections=SECTIONS, console_roles=OPERATOR_ROLES,
                               time_tag=time_tag, sla_badge=sla_badge,
                               change_verbs=CHANGE_VERBS, code_label=code_label, age=age,
                               project_link=project_link)
    environment.filters["wbr"] = break_at_underscores
    return environment


def page(name: str, status: int = 200, **context: Any) -> HTMLResponse:
    html = _templates().get_template(name).render(**context)
    return HTMLResponse(html, status_code=status, headers=_HEADERS)


def redirect(location: str) -> RedirectResponse:
    return RedirectResponse(location, status_code=303, headers={"Cache-Control": "no-store"})


def refused(message: str, status: int = 403) -> HTMLResponse:
    """The refusal page without the navigation (sign-in, the import and tenant forms)."""
    return page("refused.html", status, title="Request refused", message=message)


def denied(user: User, token: str) -> HTMLResponse:
    return page("denied.html", 403, title="Access denied", user=user, csrf=csrf_token(token))


def csrf_token(session_token: str) -> str:
    """Bound to the session and unknown to another site (the cookie is HttpOnly)."""
    return hmac.new(session_token.encode(), b"projects-import dashboard form",
                    hashlib.sha256).hexdigest()


class PageSession:
    """The signed-in user of a page request, and the form token of their session."""

    def __init__(self, user: User, token: str) -> None:
        self.user = user
        self.token = token
        self.csrf = csrf_token(token)

    @property
    def claims(self) -> dict[str, Any]:
        return self.user.claims

    @property
    def admin(self) -> bool:
        return self.user.role == "admin"

    def check(self, form: dict[str, str], reload: str = "the page") -> None:
        """ConsoleError (403) unless the form carries this session's token."""
        if not hmac.compare_digest(form.get("csrf", ""), self.csrf):
            raise ConsoleError(f"the form is stale or forged: reload {reload} and try again",
                               http_status=403)

    def denied(self) -> HTMLResponse:
        return denied(self.user, self.token)


def refused_page(exc: ProjectsImportError, session: PageSession | None = None) -> Response:
    """The page saying what was wrong — the form, the filter, or the database's refusal —
    within the console's navigation when the user is known."""
    if isinstance(exc, PageAnswer):
        return exc.response
    if session is None:
        return refused(exc.message, exc.http_status)
    title = "Not allowed" if isinstance(exc, Forbidden) else "Request refused"
    return page("refused.html", exc.http_status, title=title, message=exc.message,
                user=session.user, csrf=session.csrf)


def _same_origin(request: Request) -> bool:
    """False when the browser says the form came from another site.

    Browsers send Origin (or at least Referer) with every form POST, so a cross-site post is
    recognisable; a request with neither comes from a script or API client, which cannot
    ride on a victim's cookies (SameSite=Lax) and is allowed.
    """
    host = request.headers.get("host", "").lower()
    source = request.headers.get("origin") or request.headers.get("referer")
    if source is None:
        return True
    if not host or source == "null":
        return False
    return urlsplit(source).netloc.lower() == host


async def read_form_pairs(request: Request, max_fields: int = 20) -> list[tuple[str, str]]:
    """A same-origin, form-encoded POST's fields in order (a name may repeat); FormError
    when it is not one."""
    if not _same_origin(request):
        raise FormError("cross-site form refused: the request's Origin (or Referer) is not "
                        "this site", http_status=403)
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media != "application/x-www-form-urlencoded":
        raise FormError("send the form as application/x-www-form-urlencoded")
    body = bytearray()
    async for chunk in body_chunks(request, FORM_TIMEOUT_SECONDS):
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise FormError(f"the form is over {MAX_FORM_BYTES} bytes")
    try:
        return parse_qsl(body.decode("utf-8", errors="strict"), keep_blank_values=True,
                         max_num_fields=max_fields)
    except (UnicodeDecodeError, ValueError) as exc:
        raise FormError("the form cannot be read") from exc


async def read_form(request: Request) -> dict[str, str]:
    """The posted form's fields (the first of a repeated name); PageAnswer with the refusal
    page when it is not a same-origin form."""
    try:
        return dict(reversed(await read_form_pairs(request)))
    except FormError as exc:
        raise PageAnswer(refused(exc.message, exc.http_status)) from exc


async def checked_form(request: Request, session: PageSession, reload: str) -> dict[str, str]:
    """`read_form` carrying this session's CSRF token; PageAnswer with the refusal page
    (no navigation) otherwise."""
    form = await read_form(request)
    try:
        session.check(form, reload)
    except ConsoleError as exc:
        raise PageAnswer(refused(exc.message, exc.http_status)) from exc
    return form


async def signed_in(request: Request, users: UserStore) -> tuple[User | None, str]:
    """The session cookie's user, if the session is live, and the cookie's token."""
    token = request.cookies.get(COOKIE, "")
    user = await users.session_user(token) if token else None
    return user, token


async def page_user(request: Request, users: UsersDep) -> PageSession:
    """The signed-in operator or admin; a signed-out browser gets the sign-in form, another
    role "Access denied" (both as a PageAnswer)."""
    user, token = await signed_in(request, users)
    if user is None:
        raise PageAnswer(redirect("/login"))
    if user.role not in OPERATOR_ROLES:
        raise PageAnswer(denied(user, token))
    return PageSession(user, token)


PageUser = Annotated[PageSession, Depends(page_user)]
