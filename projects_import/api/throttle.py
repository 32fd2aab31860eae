"""Refuse early, in this process, what the database would refuse later at a higher cost:
a busy tenant's import (before its body is read) and password guessing (before a password
is verified).

Concurrency is one import per tenant. The database's per-tenant lock is the real guard
(across processes and replicas); this in-process check only spares the work of reading,
decoding and validating a body that the lock would refuse anyway.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from projects_import.errors import ProjectsImportError
from projects_import.imports.service import ImportBusy


class TenantBusy(ImportBusy):
    """This process is already importing for the tenant: the same refusal as the database's
    lock (429 `import_in_progress`), found before the body is read."""


class ImportGate:
    def __init__(self) -> None:
        self._in_flight: set[str] = set()
        # SHA-256 of the bearer of each import in flight -> its tenant: the same bearer again
        # is refused without a database round trip (it was authenticated moments ago)
        self._bearers: dict[bytes, str] = {}

    def holder(self, bearer: str) -> str | None:
        """The tenant whose import in flight was sent with this bearer, if any."""
        return self._bearers.get(_digest(bearer))

    @contextmanager
    def turn(self, tenant_id: str, bearer: str) -> Iterator[None]:
        """Hold the tenant's turn for the block; TenantBusy when another request has it."""
        if tenant_id in self._in_flight:
            raise TenantBusy(tenant_id)
        digest = _digest(bearer)
        self._in_flight.add(tenant_id)
        self._bearers[digest] = tenant_id
        try:
            yield
        finally:
            self._in_flight.discard(tenant_id)
            self._bearers.pop(digest, None)


def _digest(bearer: str) -> bytes:
    return hashlib.sha256(bearer.encode("utf-8", "surrogatepass")).digest()


class SignInThrottled(ProjectsImportError):
    """Too many sign-in attempts for this login or from this address just now (429, with
    Retry-After); the sign-in page says so in its form."""

    code = "too_many_signins"
    http_status = 429

    def __init__(self, retry_after: int, reason: str) -> None:
        super().__init__(reason, headers={"Retry-After": str(retry_after)})
        self.retry_after = retry_after
        self.reason = reason


@dataclass
class SignInAttempt:
    email: str
    address: str
    started: float
    succeeded: bool = False


@dataclass
class _Window:
    """Failed (and in-flight) attempts of one key in the last WINDOW seconds."""

    times: deque[float] = field(default_factory=deque)
    in_flight: int = 0


class SignInThrottle:
    """Bounds password guessing before any password is verified, in this process, the same
    way for every email — known or not — so the answers cannot tell which exist.

    Per login: one verification at a time; after ACCOUNT_FREE_FAILURES failures in WINDOW,
    each next attempt waits twice as long after the last failure, at most ACCOUNT_MAX_DELAY.
    That wait holds back only addresses that have failed themselves: an address with no
    failure in WINDOW is not held up by the guesses of others, so nobody can keep a login
    locked by guessing at it (there is no lockout, only a short, capped backoff).
    Per client address (the forwarded client behind a trusted proxy): ADDRESS_IN_FLIGHT
    verifications at a time, and after ADDRESS_FREE_FAILURES failures in WINDOW the same
    doubling wait, at most ADDRESS_MAX_DELAY. There is no process-wide cap: a flood from many
    addresses waits its turn for the password worker instead of refusing everyone.
    """

    WINDOW = 15 * 60.0
    ACCOUNT_FREE_FAILURES = 5
    ACCOUNT_MAX_DELAY = 60.0
    ADDRESS_FREE_FAILURES = 10
    ADDRESS_MAX_DELAY = 300.0
    ADDRESS_IN_FLIGHT = 2
    MAX_KEYS = 10_000

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._emails: dict[str, _Window] = {}
        self._addresses: dict[str, _Window] = {}

    def _window(self, table: dict[str, _Window], key: str, now: float) -> _Window:
        window = table.get(key)
        if window is None:
            if len(table) >= self.MAX_KEYS:
                self._forget_idle(table, now)
            window = table[key] = _Window()
        while window.times and window.times[0] <= now - self.WINDOW:
            window.times.popleft()
        return window

    def _forget_idle(self, table: dict[str, _Window], now: float) -> None:
        for key in [k for k, w in table.items()
                    if not w.in_flight and (not w.times or w.times[-1] <= now - self.WINDOW)]:
            del table[key]
        while len(table) >= self.MAX_KEYS:  # still full: drop the oldest idle entries
            idle = next((k for k, w in table.items() if not w.in_flight), None)
            if idle is None:
                break
            del table[idle]

    @staticmethod
    def _wait(window: _Window, free: int, longest: float, now: float) -> float:
        """Seconds until the next attempt: 0 up to `free` failures, then 1, 2, 4… after the
        last failure, at most `longest`."""
        extra = len(window.times) - free
        if extra < 0:
            return 0.0
        return window.times[-1] + min(longest, 2.0 ** extra) - now

    @contextmanager
    def attempt(self, email: str, address: str) -> Iterator[SignInAttempt]:
        """Admit one sign-in (SignInThrottled if it must wait); the block sets `succeeded`."""
        now = self.clock()
        by_email = self._window(self._emails, email, now)
        by_address = self._window(self._addresses, address, now)
        if by_email.in_flight:
            raise SignInThrottled(1, "a sign-in for this login is being checked")
        if by_address.in_flight >= self.ADDRESS_IN_FLIGHT:
            raise SignInThrottled(1, "too many sign-ins from this address at once")
        wait = self._wait(by_address, self.ADDRESS_FREE_FAILURES, self.ADDRESS_MAX_DELAY, now)
        if wait > 0:
            raise SignInThrottled(math.ceil(wait), "too many failed sign-ins from this address")
        wait = self._wait(by_email, self.ACCOUNT_FREE_FAILURES, self.ACCOUNT_MAX_DELAY, now)
        if wait > 0 and by_address.times:
            raise SignInThrottled(math.ceil(wait), "too many failed sign-ins for this login")
        attempt = SignInAttempt(email, address, now)
        by_email.in_flight += 1
        by_address.in_flight += 1
        try:
            yield attempt
        finally:
            by_email.in_flight -= 1
            by_address.in_flight -= 1
            if not attempt.succeeded:
                failed_at = self.clock()
                by_address.times.append(failed_at)
                by_email.times.append(failed_at)
            else:
                by_email.times.clear()
