"""The client's address behind trusted proxies, and the connection limit the file
descriptors allow."""

from __future__ import annotations

import pytest

from projects_import.api.capacity import connection_limit, reserved_files
from projects_import.api.clients import TrustedProxies, resolve
from projects_import.settings import Settings

PROXIES = TrustedProxies("127.0.0.1, 10.0.0.0/8, ::1")


def headers(*pairs: tuple[str, str]) -> list[tuple[bytes, bytes]]:
    return [(k.lower().encode(), v.encode()) for k, v in pairs]


def test_a_trusted_proxy_names_the_client_with_x_forwarded_for() -> None:
    given = headers(("X-Forwarded-For", "203.0.113.7, 10.1.2.3"), ("X-Forwarded-Proto", "https"))
    assert resolve("127.0.0.1", given, PROXIES) == ("203.0.113.7", "https")


def test_the_rightmost_untrusted_hop_is_the_client_so_it_cannot_name_itself() -> None:
    spoofed = headers(("X-Forwarded-For", "1.2.3.4, 198.51.100.5"))
    assert resolve("10.9.9.9", spoofed, PROXIES)[0] == "198.51.100.5"


def test_rfc_7239_forwarded_is_read_before_x_forwarded_for() -> None:
    given = headers(("Forwarded", 'for="[2001:db8::1]:4711";proto=https, for=10.0.0.2'),
                    ("X-Forwarded-For", "192.0.2.99"))
    assert resolve("::1", given, PROXIES) == ("2001:db8::1", "https")
    assert resolve("::1", headers(("Forwarded", "for=192.0.2.43:80")), PROXIES) == (
        "192.0.2.43", None)


def test_headers_from_a_peer_that_is_no_proxy_are_ignored() -> None:
    given = headers(("X-Forwarded-For", "203.0.113.7"), ("X-Forwarded-Proto", "https"))
    assert resolve("198.51.100.1", given, PROXIES) == ("198.51.100.1", None)
    assert resolve("127.0.0.1", given, TrustedProxies("")) == ("127.0.0.1", None)
    assert resolve("198.51.100.1", given, TrustedProxies("*"))[0] == "203.0.113.7"


def test_a_trusted_peer_without_forwarding_headers_is_the_client() -> None:
    assert resolve("127.0.0.1", [], PROXIES) == ("127.0.0.1", None)
    assert resolve("127.0.0.1", headers(("X-Forwarded-Proto", "gopher")), PROXIES) == (
        "127.0.0.1", None)


def test_a_malformed_forwarded_allow_ips_is_named(monkeypatch) -> None:
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "10.0.0.0/8, proxy.internal")
    with pytest.raises(ValueError, match=r"proxy\.internal"):
        Settings()


def test_the_connection_limit_fits_the_file_descriptors(monkeypatch) -> None:
    monkeypatch.delenv("PROJECTS_IMPORT_MAX_CONNECTIONS", raising=False)
    settings = Settings()
    assert settings.max_connections == 512
    limit = connection_limit(settings, open_files=256)
    # never more than the descriptors left once the pool and the workers have theirs, with
    # room left to answer the refused ones
    assert limit >= 1 and limit + reserved_files(settings) < 256
    assert connection_limit(settings, open_files=1_048_576) == 512
    assert connection_limit(settings, open_files=16) == 1
