"""The in-process sign-in throttle, on a fake clock."""

from __future__ import annotations

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


def test_one_verification_at_a_time_per_login() -> None:
    throttle = SignInThrottle(Clock())
    with throttle.attempt("a@example.com", "10.0.0.1"):
        with pytest.raises(SignInThrottled) as refused:
            fail(throttle, "a@example.com", "10.0.0.2")
        assert refused.value.retry_after == 1
        # one error family: a 429 that says when to come back
        assert isinstance(refused.value, ProjectsImportError)
        assert (refused.value.http_status, refused.value.code) == (429, "too_many_signins")
        assert refused.value.headers == {"Retry-After": "1"}
        assert refused.value.message == refused.value.reason
        fail(throttle, "b@example.com", "10.0.0.2")  # another login is not held up
    fail(throttle, "a@example.com", "10.0.0.2")


def test_an_address_gets_a_few_at_once_and_a_bounded_number_of_failures() -> None:
    clock = Clock()
    throttle = SignInThrottle(clock)
    held = [throttle.attempt(f"{n}@x.org", "10.0.0.1") for n in range(4)]
    for context in held:
        context.__enter__()
    with pytest.raises(SignInThrottled):
        fail(throttle, "5@x.org", "10.0.0.1")
    for context in held:
        context.__exit__(None, None, None)
    for n in range(throttle.ADDRESS_FAILURES - 4):
        clock.now += 1
        fail(throttle, f"{n}@y.org", "10.0.0.1")
    with pytest.raises(SignInThrottled) as refused:
        fail(throttle, "late@y.org", "10.0.0.1")
    assert throttle.WINDOW - 30 <= refused.value.retry_after <= throttle.WINDOW
    fail(throttle, "late@y.org", "10.0.0.9")  # other addresses are not held up
    clock.now += throttle.WINDOW + 1
    fail(throttle, "late@y.org", "10.0.0.1")


def test_successes_do_not_count_against_the_address() -> None:
    throttle = SignInThrottle(Clock())
    for _ in range(throttle.ADDRESS_FAILURES * 2):
        with throttle.attempt("a@example.com", "10.0.0.1") as attempt:
            attempt.succeeded = True


def test_a_flood_from_many_addresses_is_refused_not_queued() -> None:
    throttle = SignInThrottle(Clock())
    held = [throttle.attempt(f"{n}@x.org", f"10.0.{n}.1") for n in range(throttle.MAX_IN_FLIGHT)]
    for context in held:
        context.__enter__()
    with pytest.raises(SignInThrottled):
        fail(throttle, "one.more@x.org", "10.9.9.9")
    for context in held:
        context.__exit__(None, None, None)
    fail(throttle, "one.more@x.org", "10.9.9.9")


def test_memory_is_bounded_by_forgetting_idle_keys() -> None:
    clock = Clock()
    throttle = SignInThrottle(clock)
    throttle.MAX_KEYS = 50
    for n in range(500):
        with throttle.attempt(f"{n}@x.org", f"a{n}") as attempt:
            attempt.succeeded = True
    assert len(throttle._emails) <= 50 and len(throttle._addresses) <= 50
