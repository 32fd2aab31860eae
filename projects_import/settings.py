"""One settings object, read from the environment (SPEC §2)."""

from __future__ import annotations

import os
import secrets
from functools import cached_property
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from projects_import.auth import USER_AUDIENCE, validate_jwks_url
from projects_import.vocabulary import MAX_BODY_BYTES, MAX_ROWS

# `transaction`: a transaction-mode pooler (PgBouncer, Supavisor on port 6543) sits between the
# service and PostgreSQL; `session`/`none`: every connection is the server's own.
POOLER_MODES = ("transaction", "session", "none")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    database_url: str | None = Field(default=None, alias="DATABASE_URL")
    home: Path = Field(default=Path("./.projects-import"), alias="PROJECTS_IMPORT_HOME")
    jwt_secret_env: str | None = Field(default=None, alias="JWT_SECRET", repr=False)
    jwt_jwks_url: str | None = Field(default=None, alias="JWT_JWKS_URL")
    # user tokens must name this audience (`aud`; comma-separated for several) and, when set,
    # this issuer (`iss`; Supabase's is https://<project>.supabase.co/auth/v1)
    jwt_audience: str = Field(default=USER_AUDIENCE, min_length=1, alias="JWT_AUDIENCE")
    jwt_issuer: str | None = Field(default=None, alias="JWT_ISSUER")
    # a token without `aud` is refused too (SPEC §4.2's token shape has none, so off by default;
    # a token that names another audience is refused either way)
    jwt_audience_required: bool = Field(default=False, alias="JWT_AUDIENCE_REQUIRED")
    pooler: str | None = Field(default=None, alias="PROJECTS_IMPORT_POOLER")
    alert_webhook: str | None = Field(default=None, alias="ANOMALIES_ALERT_WEBHOOK")
    alert_window_hours: int = Field(default=1, ge=1, le=8760, alias="ANOMALIES_ALERT_WINDOW_HOURS")
    alert_min_count: int | None = Field(default=None, ge=1, alias="ANOMALIES_ALERT_MIN_COUNT")
    alert_secret: str | None = Field(default=None, alias="ANOMALIES_ALERT_SECRET", repr=False)
    escalation_webhook: str | None = Field(default=None, alias="ANOMALIES_ESCALATION_WEBHOOK")
    alert_suppress_hours: float = Field(default=4, ge=0, le=8760,
                                        alias="ANOMALIES_ALERT_SUPPRESS_HOURS")
    public_url: str | None = Field(default=None, alias="PROJECTS_IMPORT_PUBLIC_URL")
    max_body_bytes: int = Field(default=MAX_BODY_BYTES, ge=1,
                                alias="PROJECTS_IMPORT_MAX_BODY_BYTES")
    max_rows: int = Field(default=MAX_ROWS, ge=1, alias="PROJECTS_IMPORT_MAX_ROWS")
    pool_max_size: int = Field(default=10, ge=1, alias="PROJECTS_IMPORT_POOL_MAX_SIZE")
    retry_after_seconds: int = Field(default=5, ge=1, alias="PROJECTS_IMPORT_RETRY_AFTER_SECONDS")
    scheduler_enabled: bool = Field(default=True, alias="PROJECTS_IMPORT_SCHEDULER")
    # worker processes that decode and validate import bodies (imports/offload.py); unset:
    # min(2, CPUs)
    import_workers: int | None = Field(default=None, ge=1, le=64,
                                       alias="PROJECTS_IMPORT_WORKERS")
    # Slow and greedy clients (docs/reliability.md)
    header_timeout_seconds: float = Field(default=10, gt=0,
                                          alias="PROJECTS_IMPORT_HEADER_TIMEOUT_SECONDS")
    body_timeout_seconds: float = Field(default=60, gt=0,
                                        alias="PROJECTS_IMPORT_BODY_TIMEOUT_SECONDS")
    keep_alive_seconds: int = Field(default=5, ge=1, alias="PROJECTS_IMPORT_KEEP_ALIVE_SECONDS")
    max_connections: int = Field(default=512, ge=1, alias="PROJECTS_IMPORT_MAX_CONNECTIONS")
    max_connections_per_client: int = Field(default=32, ge=1,
                                            alias="PROJECTS_IMPORT_MAX_CONNECTIONS_PER_CLIENT")
    # peers whose X-Forwarded-For / Forwarded headers name the client (addresses, networks,
    # `*`); blank: none. uvicorn's variable and default.
    forwarded_allow_ips: str = Field(default="127.0.0.1,::1", alias="FORWARDED_ALLOW_IPS")
    # /metrics: a bearer token scrapers must send; unset: loopback clients only
    metrics_token: str | None = Field(default=None, alias="PROJECTS_IMPORT_METRICS_TOKEN",
                                      repr=False)
    metrics_cache_seconds: float = Field(default=5, ge=0,
                                         alias="PROJECTS_IMPORT_METRICS_CACHE_SECONDS")

    @field_validator("database_url", "alert_webhook", "jwt_secret_env", "jwt_jwks_url",
                     "pooler", "alert_secret", "escalation_webhook", "public_url", "jwt_issuer",
                     "metrics_token",
                     "alert_min_count", "import_workers", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("jwt_jwks_url")
    @classmethod
    def _jwks_url(cls, value: str | None) -> str | None:
        return validate_jwks_url(value) if value is not None else None

    @field_validator("pooler")
    @classmethod
    def _pooler(cls, value: str | None) -> str | None:
        if value is None:
            return None
        mode = value.strip().lower()
        if mode not in POOLER_MODES:
            raise ValueError(f"PROJECTS_IMPORT_POOLER must be one of {', '.join(POOLER_MODES)}")
        return mode

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _forwarded(cls, value: str) -> str:
        from projects_import.api.clients import TrustedProxies

        TrustedProxies(value)  # names the entry that is not an address or network
        return value

    @field_validator("jwt_audience", mode="before")
    @classmethod
    def _audience(cls, value: object) -> object:
        return USER_AUDIENCE if isinstance(value, str) and not value.strip() else value

    @property
    def jwt_audiences(self) -> list[str]:
        return [a.strip() for a in self.jwt_audience.split(",") if a.strip()]

    @cached_property
    def jwt_secret(self) -> str:
        """The HS256 secret: `JWT_SECRET`, else one generated once into the home folder."""
        if self.jwt_secret_env:
            return self.jwt_secret_env
        path = self.home / "jwt_secret"
        if path.exists():
            return path.read_text().strip()
        self.home.mkdir(parents=True, exist_ok=True)
        value = secrets.token_urlsafe(48)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process generated it first
            return path.read_text().strip()
        with os.fdopen(fd, "w") as handle:
            handle.write(value + "\n")
        return value
