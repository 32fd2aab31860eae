"""User JWTs signed with asymmetric keys published as a JWKS (Supabase's signing keys, SPEC §9):
ES256 and RS256 through GET /anomalies, with keys generated here and served by a tiny JWKS
endpoint on 127.0.0.1. The key named by `kid` decides the algorithm, never the token."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from projects_import import auth
from projects_import.settings import Settings
from tests.support import JWT_SECRET, LiveServer

Key = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


class JwksServer:
    """Serves {"keys": [...]} at /jwks.json and counts the fetches."""

    def __init__(self) -> None:
        self.keys: list[dict[str, Any]] = []
        self.fetches = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.fetches += 1
                body = json.dumps({"keys": owner.keys}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/jwks.json"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def publish(self, kid: str, key: Key) -> None:
        public = key.public_key()
        if isinstance(public, ec.EllipticCurvePublicKey):
            jwk = ECAlgorithm.to_jwk(public, as_dict=True)
        else:
            jwk = RSAAlgorithm.to_jwk(public, as_dict=True)
        self.keys.append({**jwk, "kid": kid, "use": "sig"})

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def claims(role: str = "operator", ttl: int = 600) -> dict[str, Any]:
    now = int(time.time())
    return {"sub": f"user-{role}", "role": "authenticated", "aud": "authenticated",
            "app_metadata": {"role": role}, "iat": now, "exp": now + ttl}


def signed(key: Key, algorithm: str, kid: str, **overrides: Any) -> str:
    return jwt.encode(claims(**overrides), key, algorithm=algorithm, headers={"kid": kid})


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def handmade(header: dict[str, Any], body: dict[str, Any], sign: Callable[[bytes], bytes]) -> str:
    head = b64(json.dumps(header).encode()) + "." + b64(json.dumps(body).encode())
    return head + "." + b64(sign(head.encode()))


@pytest.fixture(scope="module")
def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def jwks(ec_key, rsa_key, monkeypatch: pytest.MonkeyPatch) -> Iterator[JwksServer]:
    server = JwksServer()
    server.publish("ec-1", ec_key)
    server.publish("rsa-1", rsa_key)
    monkeypatch.setattr(auth, "JWKS_REFRESH_COOLDOWN_SECONDS", 0.0)
    auth.jwks_client.cache_clear()
    yield server
    auth.jwks_client.cache_clear()
    server.close()


@pytest.fixture
def api(settings: Settings, jwks: JwksServer, make_server: Callable[[Settings], LiveServer],
        monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], httpx.Response]]:
    monkeypatch.setenv("JWT_JWKS_URL", jwks.url)
    server = make_server(Settings())
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield lambda token: client.get("/anomalies",
                                       headers={"Authorization": f"Bearer {token}"})


def test_es256_and_rs256_operator_tokens_are_let_in(api, ec_key, rsa_key) -> None:
    assert api(signed(ec_key, "ES256", "ec-1")).status_code == 200
    response = api(signed(rsa_key, "RS256", "rsa-1"))
    assert response.status_code == 200, response.text
    assert response.json()["anomalies"] == []


def test_a_viewer_with_a_valid_es256_token_is_forbidden(api, ec_key) -> None:
    assert api(signed(ec_key, "ES256", "ec-1", role="viewer")).status_code == 403


def test_hs256_with_jwt_secret_keeps_working_beside_the_jwks(api) -> None:
    token = jwt.encode(claims(), JWT_SECRET, algorithm="HS256")
    assert api(token).status_code == 200


def test_the_key_set_is_cached_between_requests(api, jwks, ec_key) -> None:
    for _ in range(3):
        assert api(signed(ec_key, "ES256", "ec-1")).status_code == 200
    assert jwks.fetches == 1


def test_an_unknown_kid_refreshes_the_set_once(api, jwks, ec_key) -> None:
    assert api(signed(ec_key, "ES256", "ec-1")).status_code == 200
    rotated = ec.generate_private_key(ec.SECP256R1())
    jwks.publish("ec-2", rotated)
    assert api(signed(rotated, "ES256", "ec-2")).status_code == 200
    assert jwks.fetches == 2
    assert api(signed(rotated, "ES256", "never-published")).status_code == 401


@pytest.mark.parametrize("case", [
    "forged_with_another_ec_key", "forged_with_another_rsa_key", "expired",
    "alg_none", "hs256_with_the_rsa_public_key", "rs256_header_on_the_ec_key",
    "es256_header_on_the_rsa_key", "no_kid", "hs256_with_a_wrong_secret",
])
def test_forged_tokens_are_refused(api, ec_key, rsa_key, case) -> None:
    body = claims()
    if case == "forged_with_another_ec_key":
        token = signed(ec.generate_private_key(ec.SECP256R1()), "ES256", "ec-1")
    elif case == "forged_with_another_rsa_key":
        token = signed(rsa.generate_private_key(public_exponent=65537, key_size=2048),
                       "RS256", "rsa-1")
    elif case == "expired":
        token = signed(ec_key, "ES256", "ec-1", ttl=-60)
    elif case == "alg_none":
        token = handmade({"alg": "none", "typ": "JWT", "kid": "ec-1"}, body, lambda _: b"")
    elif case == "hs256_with_the_rsa_public_key":
        pem = rsa_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        token = handmade({"alg": "HS256", "typ": "JWT", "kid": "rsa-1"}, body,
                         lambda data: hmac.new(pem, data, hashlib.sha256).digest())
    elif case == "rs256_header_on_the_ec_key":
        token = signed(rsa_key, "RS256", "ec-1")
    elif case == "es256_header_on_the_rsa_key":
        token = signed(ec_key, "ES256", "rsa-1")
    elif case == "no_kid":
        token = jwt.encode(body, ec_key, algorithm="ES256")
    else:
        token = jwt.encode(body, "not-the-secret-0123456789abcdef0123", algorithm="HS256")
    response = api(token)
    assert response.status_code == 401, response.text
    assert response.json()["error"]["code"] == "unauthorized"
    assert "Traceback" not in response.text


def test_jwks_url_must_be_https_or_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JWT_JWKS_URL", "http://keys.example.com/jwks.json")
    with pytest.raises(ValueError, match="https"):
        Settings()
    monkeypatch.setenv("JWT_JWKS_URL", "https://project.supabase.co/auth/v1/.well-known/jwks.json")
    assert Settings().jwt_jwks_url is not None
