"""The in-process sign-in throttle, on a fake clock: capped backoff per login and per address,
no lockout anyone can keep renewing, no process-wide refusal."""

from __future__ import annotations

import contextlib

import pytest

from projects_import.api.throttle import SignInThrottle, SignInThrottled
from projects_import.errors import ProjectsImportError


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def fail(throttle: SignInThrottle, email: str, address: str) -> None:
    with throttle.attempt(email, address):
        pass  # not succeeded


def succeed(throttle: SignInThrottle, email: str, address: str) -> None:
    with throttle.attempt(email, address) as attempt:
        attempt.succeeded = True


def refused_for(throttle: SignInThrottle, email: str, address: str) -> int:
    with pytest.raises(SignInThrottled) as refused:
        fail(throttle, email, address)
    return refused.value.retry_after


def test_a_refusal_is_a_429_of_the_one_error_family() -> None:
    throttle = SignInThrottle(Clock())
    with throttle.attempt("a@example.com", "10.0.0.1"), \
            pytest.raises(SignInThrottled) as refused:
        fail(throttle, "a@example.com", "10.0.0.2")
    assert isinstance(refused.value, ProjectsImportError)
    assert (refused.value.http_status, refused.value.code) == (429, "too_many_signins")
    assert refused.value.headers == {"Retry-After": "1"}
    assert refused.value.message == refused.value.reason


def test_one_verification_at_a_time_per_login() -> None:
    throttle = SignInThrottle(Clock())
    with throttle.attempt("a@example.com", "10.0.0.1"):
        assert refused_for(throttle, "a@example.com", "10.0.0.2") == 1
        fail(throttle, "b@example.com", "10.0.0.2")  # another login is not held up
    fail(throttle, "a@example.com", "10.0.0.2")


def test_an_address_gets_two_at_once() -> None:
    throttle = SignInThrottle(Clock())
    held = [throttle.attempt(f"{n}@x.org", "10.0.0.1") for n in range(2)]
    for context in held:
        context.__enter__()
    assert refused_for(throttle, "3@x.org", "10.0.0.1") == 1
    fail(throttle, "3@x.org", "10.0.0.2")
    for context in held:
        context.__exit__(None, None, None)
    fail(throttle, "3@x.org", "10.0.0.1")


def test_a_login_backs_off_doubling_and_capped_after_a_few_failures() -> None:
    clock = Clock()
    throttle = SignInThrottle(clock)
    throttle.ADDRESS_FREE_FAILURES = 1000  # the address's own backoff is the next test's
    for _ in range(throttle.ACCOUNT_FREE_FAILURES):
        fail(throttle, "boss@example.com", "10.0.0.1")
    waits = []
    for _ in range(12):
        waits.append(refused_for(throttle, "boss@example.com", "10.0.0.1"))
        clock.now += waits[-1]
        fail(throttle, "boss@example.com", "10.0.0.1")
    assert waits[:4] == [1, 2, 4, 8]
    assert max(waits) == throttle.ACCOUNT_MAX_DELAY  # never a lockout of minutes
    clock.now += throttle.ACCOUNT_MAX_DELAY
    succeed(throttle, "boss@example.com", "10.0.0.1")
    fail(throttle, "boss@example.com", "10.0.0.1")  # a success starts the count again


def test_guessing_from_many_addresses_never_holds_back_a_clean_address() -> None:
    """Someone who knows the admin's email cannot keep the admin out: the backoff holds back
    addresses that failed, not the login for everyone."""
    clock = Clock()
    throttle = SignInThrottle(clock)
    for n in range(200):
        clock.now += 0.5
        with contextlib.suppress(SignInThrottled):
            fail(throttle, "admin@example.com", f"198.51.{n % 50}.7")
    succeed(throttle, "admin@example.com", "203.0.113.1")


def test_an_address_backs_off_after_its_failures_whatever_the_logins() -> None:
    clock = Clock()
    throttle = SignInThrottle(clock)
    for n in range(throttle.ADDRESS_FREE_FAILURES):
        clock.now += 1
        fail(throttle, f"{n}@y.org", "10.0.0.1")
    assert refused_for(throttle, "late@y.org", "10.0.0.1") == 1
    fail(throttle, "late@y.org", "10.0.0.9")  # other addresses are not held up
    admitted, waits = 0, []
    for n in range(3600):  # a guess a second for an hour, each at another login
        clock.now += 1
        try:
            fail(throttle, f"guess{n}@y.org", "10.0.0.1")
            admitted += 1
        except SignInThrottled as refused:
            waits.append(refused.retry_after)
    assert admitted <= 100
    assert max(waits) <= throttle.ADDRESS_MAX_DELAY
    clock.now += throttle.WINDOW + 1
    fail(throttle, "late@y.org", "10.0.0.1")


def test_a_flood_from_many_addresses_is_not_refused_to_everyone() -> None:
    throttle = SignInThrottle(Clock())
    held = [throttle.attempt(f"{n}@x.org", f"10.0.{n}.1") for n in range(64)]
    for context in held:
        context.__enter__()
    fail(throttle, "one.more@x.org", "10.9.9.9")
    for context in held:
        context.__exit__(None, None, None)


def test_memory_is_bounded_by_forgetting_idle_keys() -> None:
    clock = Clock()
    throttle = SignInThrottle(clock)
    throttle.MAX_KEYS = 50
    for n in range(500):
        succeed(throttle, f"{n}@x.org", f"a{n}")
    assert len(throttle._emails) <= 50 and len(throttle._addresses) <= 50
