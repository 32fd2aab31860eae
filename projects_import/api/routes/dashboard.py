"""The operator console's sign-in and its Overview page (SPEC §4.4): a session cookie, then
server-rendered pages; the Overview shows stats, recent anomalies and SVG charts. No CDN; the
only script is a same-origin file the pages work without.

Forms are protected against cross-site posts twice: the cookie is SameSite=Lax, and a POST
whose Origin (else Referer) names another site is refused; sign-out also carries a token
derived from the session.
"""

from __future__ import annotations

import hashlib
import hmac
from functools import cache
from importlib import resources
from importlib.abc import Traversable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape

from projects_import.api.body import body_chunks
from projects_import.api.deps import ServicesDep, UsersDep
from projects_import.api.params import whole_number
from projects_import.api.throttle import SignInThrottled
from projects_import.dashboard.data import (
    MAX_WINDOW_DAYS,
    UnknownChartTenant,
    Window,
    read_dashboard,
)
from projects_import.dashboard.format import (
    age,
    break_at_underscores,
    code_label,
    project_link,
    sla_badge,
    time_tag,
)
from projects_import.dashboard.view import chart_figures
from projects_import.errors import Forbidden, ProjectsImportError
from projects_import.tenants import TENANT_ID
from projects_import.users import SESSION_LIFETIME, User, UserStore
from projects_import.vocabulary import OPERATOR_ROLES, SEVERITIES

router = APIRouter(tags=["dashboard"], include_in_schema=False)
log = structlog.get_logger("projects_import.api")

COOKIE = "projects_import_session"
MAX_FORM_BYTES = 16_384
FORM_TIMEOUT_SECONDS = 10.0
_STATIC_TYPES = {".css": "text/css; charset=utf-8", ".svg": "image/svg+xml",
                 ".js": "text/javascript; charset=utf-8"}
LANDING = "/dashboard/problems"
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
    as an HTML page, not JSON: the dashboard's routes catch it)."""

    code = "invalid_form"


@cache
def _templates() -> Environment:
    """Built on first use, not at import; every page gets the console's navigation and the
    time and SLA formatting."""
    environment = Environment(loader=PackageLoader("projects_import.dashboard", "templates"),
                              autoescape=select_autoescape(default=True,
                                                           default_for_string=True))
    environment.globals.update(console_sections=SECTIONS, console_roles=OPERATOR_ROLES,
                               time_tag=time_tag, sla_badge=sla_badge,
                               change_verbs=CHANGE_VERBS, code_label=code_label, age=age,
                               project_link=project_link)
    environment.filters["wbr"] = break_at_underscores
    return environment


@cache
def _static_files() -> dict[str, Traversable]:
    folder = resources.files("projects_import.dashboard") / "static"
    return {entry.name: entry for entry in folder.iterdir() if entry.is_file()}


def _page(name: str, status: int = 200, **context: Any) -> HTMLResponse:
    html = _templates().get_template(name).render(**context)
    return HTMLResponse(html, status_code=status, headers=_HEADERS)


def _redirect(location: str) -> RedirectResponse:
    return RedirectResponse(location, status_code=303, headers={"Cache-Control": "no-store"})


def _refused(message: str, status: int = 403) -> HTMLResponse:
    return _page("refused.html", status, title="Request refused", message=message)


def _denied(user: User, token: str) -> HTMLResponse:
    return _page("denied.html", 403, title="Access denied", user=user, csrf=csrf_token(token))


def csrf_token(session_token: str) -> str:
    """Bound to the session and unknown to another site (the cookie is HttpOnly)."""
    return hmac.new(session_token.encode(), b"projects-import dashboard form",
                    hashlib.sha256).hexdigest()


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


async def _read_form(request: Request) -> dict[str, str] | Response:
    """The posted form's fields (the first of a repeated name), or the page refusing it."""
    try:
        return dict(reversed(await read_form_pairs(request)))
    except FormError as exc:
        return _refused(exc.message, exc.http_status)


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


async def _signed_in(request: Request, users: UserStore) -> tuple[User | None, str]:
    token = request.cookies.get(COOKIE, "")
    user = await users.session_user(token) if token else None
    return user, token


def _secure(request: Request) -> bool:
    """Cookies are `Secure` when the request came over https — directly, or through a trusted
    proxy that said so (`api/clients.py`) — or whenever the public URL is https."""
    public_url = request.app.state.services.settings.public_url or ""
    return request.url.scheme == "https" or public_url.lower().startswith("https://")


def _set_session_cookie(response: Response, request: Request, token: str) -> None:
    response.set_cookie(COOKIE, token, max_age=int(SESSION_LIFETIME.total_seconds()),
                        path="/", httponly=True, samesite="lax", secure=_secure(request))


@router.get("/login")
async def login_form(request: Request, users: UsersDep) -> Response:
    user, _ = await _signed_in(request, users)
    if user is not None:
        return _redirect(LANDING)
    return _page("login.html", title="Sign in", email="", message=None)


@router.post("/login")
async def login(request: Request, users: UsersDep, services: ServicesDep) -> Response:
    form = await _read_form(request)
    if isinstance(form, Response):
        return form
    email, password = form.get("email", "").strip(), form.get("password", "")
    if not email or not password:
        return _page("login.html", 401, title="Sign in", email=email,
                     message="Enter your email and password.")
    # the client behind a trusted proxy (api/clients.py), else the peer
    address = request.client.host if request.client else "unknown"
    try:
        with services.signin.attempt(email.lower(), address) as attempt:
            user = await users.authenticate(email, password)
            attempt.succeeded = user is not None
    except SignInThrottled as exc:
        services.metrics.refused.labels(reason="signin").inc()
        log.info("signin_throttled", retry_after=exc.retry_after,
                 correlation_id=getattr(request.state, "correlation_id", None))
        page = _page("login.html", 429, title="Sign in", email=email,
                     message=f"Too many sign-in attempts ({exc.reason}); try again in "
                             f"{exc.retry_after} second(s).")
        page.headers["Retry-After"] = str(exc.retry_after)
        return page
    if user is None:
        return _page("login.html", 401, title="Sign in", email=email,
                     message="Wrong email or password.")
    previous = request.cookies.get(COOKIE)
    if previous:
        await users.end_session(previous)
    token = await users.create_session(user)
    response = _redirect(LANDING)
    _set_session_cookie(response, request, token)
    return response


@router.post("/logout")
async def logout(request: Request, users: UsersDep) -> Response:
    form = await _read_form(request)
    if isinstance(form, Response):
        return form
    token = request.cookies.get(COOKIE, "")
    if token:
        if not hmac.compare_digest(form.get("csrf", ""), csrf_token(token)):
            return _refused("the sign-out form is stale or forged: reload the dashboard and "
                            "sign out again")
        await users.end_session(token)
    response = _redirect("/login")
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax",
                           secure=_secure(request))
    return response


@router.get("/dashboard")
async def dashboard(request: Request, services: ServicesDep, users: UsersDep,
                    days: str | None = None, tenant: str | None = None) -> Response:
    user, token = await _signed_in(request, users)
    if user is None:
        return _redirect("/login")
    if user.role not in OPERATOR_ROLES:
        return _denied(user, token)
    try:
        window = Window(whole_number("days", days, 1, MAX_WINDOW_DAYS) if days is not None
                        else Window.days, tenant=tenant or None)
        if tenant and not TENANT_ID.match(tenant):
            raise ValueError("tenant must be a tenant id")
    except ValueError as exc:
        return _refused(str(exc), 400)
    try:
        data = await read_dashboard(services.db, user, window)
    except UnknownChartTenant as exc:
        return _refused(str(exc), 400)
    except Forbidden:  # the database refused this role too
        return _denied(user, token)
    return _page("dashboard.html", title="Operator dashboard", section="overview", user=user,
                 csrf=csrf_token(token), data=data, severities=SEVERITIES,
                 charts=chart_figures(data), window_choices=(1, 2, 7, 14, 30, 90))


@router.get("/dashboard/static/{name}")
async def static_file(name: str) -> Response:
    entry = _static_files().get(name)
    suffix = name[name.rfind("."):] if "." in name else ""
    if entry is None or suffix not in _STATIC_TYPES:
        return Response("not found", status_code=404, media_type="text/plain")
    return Response(entry.read_bytes(), media_type=_STATIC_TYPES[suffix],
                    headers={"Cache-Control": "public, max-age=3600",
                             "X-Content-Type-Options": "nosniff"})
