"""The operator console's sign-in and its Overview page (SPEC §4.4): a session cookie, then
server-rendered pages; the Overview shows stats, recent anomalies and SVG charts. No CDN; the
only script is a same-origin file the pages work without.

Forms are protected against cross-site posts twice: the cookie is SameSite=Lax, and a POST
whose Origin (else Referer) names another site is refused; sign-out also carries a token
derived from the session.
"""

from __future__ import annotations

import hmac
from functools import cache
from importlib import resources
from importlib.abc import Traversable

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import Response

from projects_import.api.deps import ServicesDep, UsersDep
from projects_import.api.pages import (
    COOKIE,
    PageUser,
    csrf_token,
    page,
    read_form,
    redirect,
    refused,
    signed_in,
)
from projects_import.api.params import whole_number
from projects_import.api.throttle import SignInThrottled
from projects_import.console.overview import (
    MAX_WINDOW_DAYS,
    UnknownChartTenant,
    Window,
    read_overview,
)
from projects_import.console.view import chart_figures
from projects_import.errors import Forbidden
from projects_import.tenants import TENANT_ID
from projects_import.users import SESSION_LIFETIME
from projects_import.vocabulary import SEVERITIES

router = APIRouter(tags=["console"], include_in_schema=False)
log = structlog.get_logger("projects_import.api")

_STATIC_TYPES = {".css": "text/css; charset=utf-8", ".svg": "image/svg+xml",
                 ".js": "text/javascript; charset=utf-8"}
LANDING = "/dashboard/problems"


@cache
def _static_files() -> dict[str, Traversable]:
    folder = resources.files("projects_import.console") / "static"
    return {entry.name: entry for entry in folder.iterdir() if entry.is_file()}


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
    user, _ = await signed_in(request, users)
    if user is not None:
        return redirect(LANDING)
    return page("login.html", title="Sign in", email="", message=None)


@router.post("/login")
async def login(request: Request, users: UsersDep, services: ServicesDep) -> Response:
    form = await read_form(request)
    email, password = form.get("email", "").strip(), form.get("password", "")
    if not email or not password:
        return page("login.html", 401, title="Sign in", email=email,
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
        answer = page("login.html", 429, title="Sign in", email=email,
                     message=f"Too many sign-in attempts ({exc.reason}); try again in "
                             f"{exc.retry_after} second(s).")
        answer.headers["Retry-After"] = str(exc.retry_after)
        return answer
    if user is None:
        return page("login.html", 401, title="Sign in", email=email,
                     message="Wrong email or password.")
    previous = request.cookies.get(COOKIE)
    if previous:
        await users.end_session(previous)
    token = await users.create_session(user)
    response = redirect(LANDING)
    _set_session_cookie(response, request, token)
    return response


@router.post("/logout")
async def logout(request: Request, users: UsersDep) -> Response:
    form = await read_form(request)
    token = request.cookies.get(COOKIE, "")
    if token:
        if not hmac.compare_digest(form.get("csrf", ""), csrf_token(token)):
            return refused("the sign-out form is stale or forged: reload the dashboard and "
                            "sign out again")
        await users.end_session(token)
    response = redirect("/login")
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax",
                           secure=_secure(request))
    return response


@router.get("/dashboard")
async def overview(session: PageUser, services: ServicesDep, days: str | None = None,
                    tenant: str | None = None) -> Response:
    try:
        window = Window(whole_number("days", days, 1, MAX_WINDOW_DAYS) if days is not None
                        else Window.days, tenant=tenant or None)
        if tenant and not TENANT_ID.match(tenant):
            raise ValueError("tenant must be a tenant id")
    except ValueError as exc:
        return refused(str(exc), 400)
    try:
        data = await read_overview(services.db, session.user, window)
    except UnknownChartTenant as exc:
        return refused(exc.message, exc.http_status)
    except Forbidden:  # the database refused this role too
        return session.denied()
    return page("overview.html", title="Operator dashboard", section="overview",
                user=session.user, csrf=session.csrf, data=data, severities=SEVERITIES,
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
