"""/metrics names every tenant, its open problems and whether it is paused: it answers loopback
clients by default, and only bearers of PROJECTS_IMPORT_METRICS_TOKEN once that is set; and
scrapes read the database at most once per PROJECTS_IMPORT_METRICS_CACHE_SECONDS."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from projects_import.settings import Settings
from tests.support.http import bearer

TOKEN = "scrape-token-0123456789abcdef"


def test_by_default_only_loopback_clients_may_scrape(http, tenant) -> None:
    assert http.get("/metrics").status_code == 200
    # a client behind the (trusted, loopback) proxy is not on this machine
    remote = http.get("/metrics", headers={"X-Forwarded-For": "203.0.113.5"})
    assert remote.status_code == 403
    assert "PROJECTS_IMPORT_METRICS_TOKEN" in remote.json()["error"]["message"]
    assert "TELCO" not in remote.text


@pytest.fixture
def token_server(settings, make_server, monkeypatch):
    monkeypatch.setenv("PROJECTS_IMPORT_METRICS_TOKEN", TOKEN)
    return make_server(Settings())


def test_with_a_token_configured_every_scraper_needs_it(token_server, tenant) -> None:
    url = f"{token_server.url}/metrics"
    for headers in ({}, bearer("wrong"), {"Authorization": f"Basic {TOKEN}"}):
        refused = httpx.get(url, headers=headers)
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"] == "Bearer"
        assert "TELCO" not in refused.text
    assert httpx.get(url, headers=bearer(TOKEN)).status_code == 200
    forwarded = {**bearer(TOKEN), "X-Forwarded-For": "203.0.113.5"}
    answer = httpx.get(url, headers=forwarded)
    assert answer.status_code == 200 and 'tenant="TELCO"' in answer.text


def test_scrapes_share_one_database_read_within_the_cache_time(live_server, tenant) -> None:
    gauges = live_server.app.state.services.metrics.database
    before = gauges.reads
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda _: httpx.get(f"{live_server.url}/metrics"), range(16)))
    assert {a.status_code for a in answers} == {200}
    assert gauges.reads - before == 1
    assert all("projects_import_database_up 1.0" in a.text for a in answers)
