"""User tokens are for this service's audience (and issuer, when one is configured): a token
signed with the same secret for another audience is a 401 naming the claim; one naming no
audience too when JWT_AUDIENCE_REQUIRED is set."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest

from projects_import.settings import Settings
from tests.support.http import JWT_SECRET, bearer

ISSUER = "https://example.supabase.co/auth/v1"


def token(**overrides: Any) -> str:
    claims = {"sub": "ops-1", "role": "authenticated", "app_metadata": {"role": "operator"},
              "aud": "authenticated", "exp": int(time.time()) + 600, **overrides}
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, JWT_SECRET,
                      algorithm="HS256")


def refused(http: Any, credential: str) -> str:
    response = http.get("/anomalies", headers=bearer(credential))
    assert response.status_code == 401, response.text
    assert response.json()["error"]["code"] == "unauthorized"
    message: str = response.json()["error"]["message"]
    return message


def test_a_token_for_another_audience_is_refused(http) -> None:
    assert http.get("/anomalies", headers=bearer(token())).status_code == 200
    assert "another audience" in refused(http, token(aud="billing-service"))
    assert "another audience" in refused(http, token(aud=["anon", "billing"]))
    assert "'aud'" in refused(http, token(aud=""))  # present but empty: names none


def test_a_token_without_aud_has_the_contract_shape_and_passes_unless_required(
        http, settings, make_server, monkeypatch) -> None:
    """SPEC §4.2's token (sub, exp, role, app_metadata) names no audience: accepted by default,
    still signature-, expiry- and role-checked; JWT_AUDIENCE_REQUIRED=true refuses it."""
    assert http.get("/anomalies", headers=bearer(token(aud=None))).status_code == 200
    assert "expired" in refused(http, token(aud=None, exp=int(time.time()) - 10))
    forged = jwt.encode({"sub": "ops-1", "role": "authenticated", "exp": int(time.time()) + 60,
                         "app_metadata": {"role": "operator"}}, "another-secret-" * 3,
                        algorithm="HS256")
    refused(http, forged)
    import httpx

    monkeypatch.setenv("JWT_AUDIENCE_REQUIRED", "true")
    server = make_server(Settings())
    with httpx.Client(base_url=server.url, timeout=30) as strict:
        assert "'aud'" in refused(strict, token(aud=None))
        assert strict.get("/anomalies", headers=bearer(token())).status_code == 200


@pytest.fixture
def strict_http(settings, make_server, monkeypatch):
    import httpx

    monkeypatch.setenv("JWT_AUDIENCE", "projects-import, authenticated")
    monkeypatch.setenv("JWT_ISSUER", ISSUER)
    server = make_server(Settings())
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


def test_a_configured_audience_and_issuer_are_checked(strict_http) -> None:
    for aud in ("projects-import", "authenticated"):
        response = strict_http.get("/anomalies", headers=bearer(token(aud=aud, iss=ISSUER)))
        assert response.status_code == 200, response.text
    assert "JWT_ISSUER" in refused(strict_http, token(iss="https://elsewhere.example/auth/v1"))
    assert "'iss'" in refused(strict_http, token())
    assert "another audience" in refused(strict_http, token(aud="billing", iss=ISSUER))


def test_the_cli_mints_for_the_configured_audience_and_issuer(monkeypatch) -> None:
    from projects_import.auth import decode_token, mint_token

    minted = mint_token(JWT_SECRET, sub="u", role="operator", audience="projects-import",
                        issuer=ISSUER)
    claims = decode_token(JWT_SECRET, minted, audience=["projects-import"], issuer=ISSUER)
    assert claims["aud"] == "projects-import" and claims["iss"] == ISSUER
