"""Post one chunk with the runbook's retry policy (SPEC §8).

429, 5xx and connection errors are retried: 5 attempts in all, waiting 1, 2, 4, 8 s between
them (times `backoff_base`), never less than the server's `Retry-After`. 400/401/413/422, 423
(the tenant is paused on the server) and every other answer are final: they need an
operator's correction, and repeating them changes nothing. Re-posting is safe because the
server treats the same batch (its batch_id with the same rows) as a replay.
"""

from __future__ import annotations

import email.utils
import gzip
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt
from tenacity.wait import wait_base, wait_exponential

from projects_import import __version__

ATTEMPTS = 5
# Fields of an error answer worth showing beside its message (a paused tenant's 423).
DETAIL_FIELDS = ("reason", "paused_at")
MAX_RETRY_AFTER = 300.0
USER_AGENT = f"projects-import-send/{__version__}"


@dataclass
class SendOptions:
    url: str
    bearer: str = field(repr=False)
    gzip: bool = False
    timeout: float = 120.0
    backoff_base: float = 1.0
    min_interval: float = 1.0
    attempts: int = ATTEMPTS
    dry_run: bool = False  # ?dry_run=true: the server merges and rolls back (SPEC §10)


@dataclass
class Answer:
    """How posting one chunk ended."""

    status: str  # accepted | replayed | held | rejected | failed
    http_status: int | None
    attempts: int
    elapsed_s: float
    bytes_sent: int
    body: dict[str, Any] | None = None
    error_code: str | None = None
    error_message: str | None = None
    server_correlation_id: str | None = None
    violations: list[dict[str, Any]] = field(default_factory=list)
    # what an error answer adds beside code and message, e.g. a pause's reason and paused_at
    error_details: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RetryNotice:
    attempt: int
    attempts: int
    delay_s: float
    reason: str


class _Transient(Exception):
    def __init__(self, reason: str, http_status: int | None = None,
                 retry_after: float | None = None, error: dict[str, Any] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.http_status = http_status
        self.retry_after = retry_after
        self.error = error or {}


class BackoffOrRetryAfter(wait_base):
    """Exponential backoff, but never sooner than the server's Retry-After."""

    def __init__(self, base: float) -> None:
        self.backoff = wait_exponential(multiplier=base, exp_base=2, min=0, max=16 * base)

    def __call__(self, retry_state: RetryCallState) -> float:
        delay = float(self.backoff(retry_state))
        failure = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(failure, _Transient) and failure.retry_after is not None:
            delay = max(delay, min(failure.retry_after, MAX_RETRY_AFTER))
        return delay


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date)."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _error_fields(response: httpx.Response) -> dict[str, Any]:
    body = _json_or_none(response)
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return {"code": f"http_{response.status_code}",
                "message": f"HTTP {response.status_code} {response.reason_phrase}".strip()}
    fields = {k: error.get(k) for k in ("code", "message", "correlation_id")}
    violations = body.get("violations") if isinstance(body, dict) else None
    fields["violations"] = violations if isinstance(violations, list) else []
    details: dict[str, str] = {}
    for key in DETAIL_FIELDS:
        value = error.get(key, body.get(key))
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            details[key] = str(value)
    fields["details"] = details
    return fields


class Sender:
    """Posts chunks one at a time, at most one request start per `min_interval`."""

    def __init__(self, options: SendOptions, *,
                 on_retry: Callable[[RetryNotice], None] | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.options = options
        self.on_retry = on_retry
        self.sleep = sleep
        self._last_start: float | None = None
        self.client = httpx.Client(
            timeout=httpx.Timeout(options.timeout, connect=min(options.timeout, 10.0)),
            follow_redirects=False, headers={"User-Agent": USER_AGENT})

    def __enter__(self) -> Sender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.close()

    def post(self, body: bytes, correlation_id: str) -> Answer:
        """Post one chunk body, retrying transient failures; never raises for HTTP outcomes."""
        headers = {"Authorization": f"Bearer {self.options.bearer}",
                   "Content-Type": "application/json", "X-Correlation-Id": correlation_id}
        content = body
        if self.options.gzip:
            content = gzip.compress(body, mtime=0)
            headers["Content-Encoding"] = "gzip"
        attempts = 0
        started = time.monotonic()

        def attempt() -> Answer:
            nonlocal attempts, started
            attempts += 1
            self._throttle()
            if attempts == 1:  # time the part from its first request, not the throttle
                started = time.monotonic()
            try:
                response = self.client.post(
                    self.options.url, content=content, headers=headers,
                    params={"dry_run": "true"} if self.options.dry_run else None)
            except httpx.RequestError as exc:
                raise _Transient(f"connection error ({type(exc).__name__})") from exc
            return self._answer(response, attempts, started, len(content))

        retrying = Retrying(
            stop=stop_after_attempt(self.options.attempts),
            wait=BackoffOrRetryAfter(self.options.backoff_base),
            retry=retry_if_exception_type(_Transient),
            before_sleep=self._notify,
            sleep=self.sleep,
            reraise=True,
        )
        try:
            return retrying(attempt)
        except _Transient as exc:
            return Answer("failed", exc.http_status, attempts, time.monotonic() - started,
                          len(content), error_code=exc.error.get("code") or "unreachable",
                          error_message=exc.error.get("message") or exc.reason,
                          server_correlation_id=exc.error.get("correlation_id"))

    def _throttle(self) -> None:
        now = time.monotonic()
        if self._last_start is not None:
            wait = self._last_start + self.options.min_interval - now
            if wait > 0:
                self.sleep(wait)
        self._last_start = time.monotonic()

    def _notify(self, retry_state: RetryCallState) -> None:
        if self.on_retry is None:
            return
        failure = retry_state.outcome.exception() if retry_state.outcome else None
        reason = failure.reason if isinstance(failure, _Transient) else repr(failure)
        delay = retry_state.next_action.sleep if retry_state.next_action else 0.0
        self.on_retry(RetryNotice(retry_state.attempt_number, self.options.attempts,
                                  float(delay), reason))

    def _answer(self, response: httpx.Response, attempts: int, started: float,
                sent: int) -> Answer:
        elapsed = time.monotonic() - started
        status = response.status_code
        if status == 202:  # held for review by the tenant's audit (SPEC §10)
            body = _json_or_none(response)
            return Answer("held", status, attempts, elapsed, sent,
                          body=body if isinstance(body, dict) else None,
                          server_correlation_id=body.get("correlation_id")
                          if isinstance(body, dict) else None)
        if status == 200:
            body = _json_or_none(response)
            if not (isinstance(body, dict) and isinstance(body.get("metrics"), dict)):
                return Answer("failed", status, attempts, elapsed, sent,
                              error_code="invalid_response",
                              error_message="the server answered 200 without the success body")
            previewed = "held" if body.get("held") else "accepted"  # a dry run's hold is a 200
            return Answer("replayed" if body.get("replayed") else previewed, status, attempts,
                          elapsed, sent, body=body,
                          server_correlation_id=body.get("correlation_id"))
        error = _error_fields(response)
        if status == 429 or status >= 500:
            raise _Transient(f"{status} {error['code']}", status,
                             parse_retry_after(response.headers.get("retry-after")), error)
        return Answer("rejected", status, attempts, elapsed, sent, error_code=error["code"],
                      error_message=error["message"],
                      server_correlation_id=error.get("correlation_id"),
                      violations=error.get("violations") or [],
                      error_details=error.get("details") or {})
