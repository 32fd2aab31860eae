"""User JWTs, Supabase-shaped: `role: "authenticated"` and the application role in
`app_metadata.role`. Signed HS256 with JWT_SECRET, or ES256/RS256 with a key published at
JWT_JWKS_URL (Supabase's asymmetric signing keys). Any tool that mints that shape works here."""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import jwt
from jwt.types import Options
from jwt.warnings import InsecureKeyLengthWarning

from projects_import.errors import ProjectsImportError
from projects_import.imports.contract import storable
from projects_import.vocabulary import MAX_STRING, OPERATOR_ROLES, ROLES, is_loopback

__all__ = ["OPERATOR_ROLES", "ROLES", "USER_TOKEN_ROLE", "TokenError", "app_role", "claims_for",
           "database_claims", "decode_token", "jwks_client", "mint_token", "validate_jwks_url"]

# Asymmetric algorithms accepted from the JWKS, by key type; the key decides, never the token.
ASYMMETRIC = {"EC": ("ES256",), "RSA": ("RS256",)}
# The `role` claim of a signed-in user's token (Supabase); `anon` and `service_role` tokens are
# not users, whatever else they carry.
USER_TOKEN_ROLE = "authenticated"  # noqa: S105 — a role name, not a secret
# The audience user tokens must name (`aud`) unless JWT_AUDIENCE says otherwise: Supabase's.
USER_AUDIENCE = "authenticated"
JWKS_CACHE_SECONDS = 600
JWKS_TIMEOUT_SECONDS = 5
# An unknown `kid` refetches the set at most this often, so forged kids cannot flood the issuer.
JWKS_REFRESH_COOLDOWN_SECONDS = 10.0


class TokenError(ProjectsImportError):
    """The token is missing, malformed, badly signed or expired."""

    code = "unauthorized"
    http_status = 401

    def __init__(self, message: str) -> None:
        super().__init__(message, headers={"WWW-Authenticate": "Bearer"})


@contextmanager
def _quiet_short_keys() -> Iterator[None]:
    """The key is the operator's JWT_SECRET (Supabase's is long enough); a short one still
    works and must not put a library warning with source lines on stderr at every token."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureKeyLengthWarning)
        yield


def claims_for(sub: str, role: str) -> dict[str, Any]:
    """The Supabase-shaped claims of a user: the one place they are built."""
    return {"sub": sub, "role": USER_TOKEN_ROLE, "app_metadata": {"role": role}}


def mint_token(secret: str, *, sub: str, role: str, ttl: int = 3600,
               audience: str = USER_AUDIENCE, issuer: str | None = None) -> str:
    now = int(time.time())
    claims = {**claims_for(sub, role), "aud": audience, "iat": now, "exp": now + ttl}
    if issuer:
        claims["iss"] = issuer
    with _quiet_short_keys():
        return jwt.encode(claims, secret, algorithm="HS256")


def decode_token(secret: str, token: str, *, jwks_url: str | None = None,
                 audience: str | Sequence[str] = USER_AUDIENCE,
                 issuer: str | None = None,
                 audience_required: bool = True) -> dict[str, Any]:
    """The verified claims. `exp` and `sub` are required. A token's `aud` must name `audience`
    (JWT_AUDIENCE, Supabase's `authenticated` by default), so a token signed with the same
    secret for another audience is refused; a token without `aud` (SPEC §4.2's shape) passes
    unless `audience_required` (JWT_AUDIENCE_REQUIRED). With `issuer` (JWT_ISSUER), `iss` must
    be it.

    HS256 tokens are checked with `secret`. With `jwks_url`, a token whose header names a `kid`
    is checked with that key of the JWKS, by the algorithm the key's type allows (ES256 for EC
    P-256, RS256 for RSA): a token cannot choose `none`, nor HS256 against a public key."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError as exc:
        raise TokenError("the token is not a valid JWT for this service") from exc
    alg = header.get("alg")
    audiences = [audience] if isinstance(audience, str) else list(audience)
    options: Options = {**(_OPTIONS_WITH_ISSUER if issuer else _OPTIONS)}
    if not audience_required and "aud" not in _unverified_claims(token):
        # no audience to check: the signature, `exp`, `sub` (and `iss`) still are
        options["require"] = [c for c in options.get("require", []) if c != "aud"]
        options["verify_aud"] = False
    checks: dict[str, Any] = {"options": options, "audience": audiences, "issuer": issuer}
    try:
        if alg == "HS256":
            with _quiet_short_keys():
                claims: dict[str, Any] = jwt.decode(token, secret, algorithms=["HS256"],
                                                    **checks)
        elif jwks_url and isinstance(header.get("kid"), str) and alg in ("ES256", "RS256"):
            key, algorithm = _signing_key(jwks_url, header["kid"])
            claims = jwt.decode(token, key, algorithms=[algorithm], **checks)
        else:
            raise TokenError("the token is not signed with HS256 by JWT_SECRET"
                             + (" nor with ES256/RS256 by a key of JWT_JWKS_URL"
                                if jwks_url else ""))
    except jwt.ExpiredSignatureError as exc:
        raise TokenError("the token has expired") from exc
    except jwt.MissingRequiredClaimError as exc:
        raise TokenError(f"the token has no {exc.claim!r} claim; this service needs "
                         f"{_needed(audiences, issuer)}") from exc
    except jwt.InvalidAudienceError as exc:
        raise TokenError("the token is for another audience: its aud must be "
                         f"{' or '.join(map(repr, audiences))} (JWT_AUDIENCE)") from exc
    except jwt.InvalidIssuerError as exc:
        raise TokenError(f"the token's issuer is not {issuer!r} (JWT_ISSUER)") from exc
    except jwt.InvalidTokenError as exc:
        raise TokenError(f"the token is not a valid {alg} JWT for this service") from exc
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub.strip() or len(sub) > MAX_STRING or not storable(sub):
        raise TokenError("the token's sub is not a usable subject")
    return claims


_OPTIONS: Options = {"require": ["exp", "sub", "aud"], "verify_aud": True}
_OPTIONS_WITH_ISSUER: Options = {"require": ["exp", "sub", "aud", "iss"], "verify_aud": True,
                                 "verify_iss": True}


def _unverified_claims(token: str) -> dict[str, Any]:
    """The token's claims before any check: only to see which claims it carries."""
    try:
        claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    except jwt.InvalidTokenError:
        return {}
    return claims


def _needed(audiences: list[str], issuer: str | None) -> str:
    needed = f"aud {' or '.join(map(repr, audiences))}"
    return needed + (f" and iss {issuer!r}" if issuer else "")


def validate_jwks_url(url: str) -> str:
    """JWT_JWKS_URL when acceptable: https://host/…, or http:// to a loopback address."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
        parts.port  # noqa: B018 — raises ValueError for a port that is not a number
    except ValueError as exc:
        raise ValueError("JWT_JWKS_URL is not a valid URL") from exc
    if parts.scheme not in ("https", "http") or not host:
        raise ValueError("JWT_JWKS_URL must be an https:// URL with a host")
    if parts.scheme == "http" and not is_loopback(host):
        raise ValueError("JWT_JWKS_URL must use https:// (plain http:// only for loopback)")
    return url.strip()


@lru_cache(maxsize=8)
def jwks_client(url: str) -> jwt.PyJWKClient:
    """One cached key set per URL: fetched on first use, kept JWKS_CACHE_SECONDS, and fetched
    again when a token names a `kid` the cached set does not have (a rotated key)."""
    return jwt.PyJWKClient(validate_jwks_url(url), cache_jwk_set=True,
                           lifespan=JWKS_CACHE_SECONDS, cache_keys=False,
                           timeout=JWKS_TIMEOUT_SECONDS,
                           cooldown_duration=JWKS_REFRESH_COOLDOWN_SECONDS)


def _signing_key(url: str, kid: str) -> tuple[Any, str]:
    """The public key for `kid` and the one algorithm its type allows."""
    try:
        found = jwks_client(url).get_signing_key(kid)
    except jwt.PyJWKClientConnectionError as exc:
        raise TokenError("the signing keys at JWT_JWKS_URL could not be fetched") from exc
    except (jwt.PyJWKClientError, jwt.InvalidKeyError) as exc:
        raise TokenError("the token's kid is not a signing key of JWT_JWKS_URL") from exc
    kty = found.key_type if isinstance(found.key_type, str) else ""
    algorithm = found.algorithm_name
    if algorithm not in ASYMMETRIC.get(kty, ()):
        raise TokenError("the token's key is not an ES256 or RS256 signing key")
    return found.key, algorithm


def database_claims(claims: dict[str, Any]) -> dict[str, Any]:
    """The claims the database sees (`request.jwt.claims`): the subject and the roles only,
    so nothing else a token carries can break or reach SQL."""
    return claims_for(claims["sub"], app_role(claims))


def app_role(claims: dict[str, Any]) -> str:
    metadata = claims.get("app_metadata")
    role = metadata.get("role") if isinstance(metadata, dict) else None
    return role if isinstance(role, str) else ""
