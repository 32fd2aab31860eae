"""User JWTs, Supabase-shaped: HS256 with JWT_SECRET, `role: "authenticated"` and the
application role in `app_metadata.role`. Any tool that mints that shape works here."""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import jwt
from jwt.warnings import InsecureKeyLengthWarning

from projects_import.errors import ProjectsImportError
from projects_import.imports.contract import storable
from projects_import.vocabulary import MAX_STRING, OPERATOR_ROLES, ROLES

__all__ = ["OPERATOR_ROLES", "ROLES", "TokenError", "app_role", "claims_for",
           "database_claims", "decode_token", "mint_token"]


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
    return {"sub": sub, "role": "authenticated", "app_metadata": {"role": role}}


def mint_token(secret: str, *, sub: str, role: str, ttl: int = 3600) -> str:
    now = int(time.time())
    claims = {**claims_for(sub, role), "aud": "authenticated", "iat": now, "exp": now + ttl}
    with _quiet_short_keys():
        return jwt.encode(claims, secret, algorithm="HS256")


def decode_token(secret: str, token: str) -> dict[str, Any]:
    """The verified claims. `exp` and `sub` are required; `aud` is not checked, so tokens
    minted for Supabase's `authenticated` audience or without one both work."""
    try:
        with _quiet_short_keys():
            claims: dict[str, Any] = jwt.decode(
                token, secret, algorithms=["HS256"],
                options={"require": ["exp", "sub"], "verify_aud": False},
            )
    except jwt.ExpiredSignatureError as exc:
        raise TokenError("the token has expired") from exc
    except jwt.InvalidTokenError as exc:
        raise TokenError("the token is not a valid HS256 JWT for this service") from exc
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub.strip() or len(sub) > MAX_STRING or not storable(sub):
        raise TokenError("the token's sub is not a usable subject")
    return claims


def database_claims(claims: dict[str, Any]) -> dict[str, Any]:
    """The claims the database sees (`request.jwt.claims`): the subject and the roles only,
    so nothing else a token carries can break or reach SQL."""
    return claims_for(claims["sub"], app_role(claims))


def app_role(claims: dict[str, Any]) -> str:
    metadata = claims.get("app_metadata")
    role = metadata.get("role") if isinstance(metadata, dict) else None
    return role if isinstance(role, str) else ""
