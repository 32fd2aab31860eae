"""User JWTs, Supabase-shaped: HS256 with JWT_SECRET, `role: "authenticated"` and the
application role in `app_metadata.role`. Any tool that mints that shape works here."""

from __future__ import annotations

import time
import warnings
from typing import Any

import jwt
from jwt.warnings import InsecureKeyLengthWarning

from projects_import.imports.contract import storable

# The key is the operator's JWT_SECRET (Supabase's is long enough); a short one still works and
# must not put a library warning with source lines on stderr at every token.
warnings.filterwarnings("ignore", category=InsecureKeyLengthWarning)

ROLES = ("operator", "admin", "viewer")
OPERATOR_ROLES = ("operator", "admin")


class TokenError(Exception):
    """The token is missing, malformed, badly signed or expired."""


def mint_token(secret: str, *, sub: str, role: str, ttl: int = 3600) -> str:
    now = int(time.time())
    claims = {
        "sub": sub,
        "role": "authenticated",
        "aud": "authenticated",
        "app_metadata": {"role": role},
        "iat": now,
        "exp": now + ttl,
    }
    return jwt.encode(claims, secret, algorithm="HS256")


def decode_token(secret: str, token: str) -> dict[str, Any]:
    """The verified claims. `exp` and `sub` are required; `aud` is not checked, so tokens
    minted for Supabase's `authenticated` audience or without one both work."""
    try:
        claims: dict[str, Any] = jwt.decode(
            token, secret, algorithms=["HS256"],
            options={"require": ["exp", "sub"], "verify_aud": False},
        )
    except jwt.ExpiredSignatureError as exc:
        raise TokenError("the token has expired") from exc
    except jwt.InvalidTokenError as exc:
        raise TokenError("the token is not a valid HS256 JWT for this service") from exc
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub.strip() or len(sub) > 256 or not storable(sub):
        raise TokenError("the token's sub is not a usable subject")
    return claims


def database_claims(claims: dict[str, Any]) -> dict[str, Any]:
    """The claims the database sees (`request.jwt.claims`): the subject and the roles only,
    so nothing else a token carries can break or reach SQL."""
    return {"sub": claims["sub"], "role": "authenticated",
            "app_metadata": {"role": app_role(claims)}}


def app_role(claims: dict[str, Any]) -> str:
    metadata = claims.get("app_metadata")
    role = metadata.get("role") if isinstance(metadata, dict) else None
    return role if isinstance(role, str) else ""
