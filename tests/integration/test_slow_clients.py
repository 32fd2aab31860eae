"""Slow and greedy clients cannot hold the service: a request's headers and body each have
a deadline, and one address holds a bounded number of connections."""

from __future__ import annotations

import socket
import time

import httpx
import pytest

from projects_import.settings import Settings


@pytest.fixture
def strict_server(settings, make_server, monkeypatch):
    monkeypatch.setenv("PROJECTS_IMPORT_HEADER_TIMEOUT_SECONDS", "1")
    monkeypatch.setenv("PROJECTS_IMPORT_BODY_TIMEOUT_SECONDS", "1.5")
    monkeypatch.setenv("PROJECTS_IMPORT_MAX_CONNECTIONS_PER_CLIENT", "5")
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "")  # loopback peers are clients, not proxies
    return make_server(Settings())


def connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    return sock


def closed_by_server(sock: socket.socket, within: float) -> bool:
    """True when the server closes the connection (EOF or reset) within `within` seconds."""
    sock.settimeout(within)
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except TimeoutError:
        return False


def test_trickled_headers_are_cut_off(strict_server) -> None:
    sock = connect(strict_server.port)
    started = time.monotonic()
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # headers never finish
    assert closed_by_server(sock, 5)
    assert time.monotonic() - started < 4
    sock.close()


def test_the_next_request_on_a_kept_alive_connection_has_the_same_deadline(strict_server):
    sock = connect(strict_server.port)
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    assert b"200 OK" in sock.recv(65536)
    sock.sendall(b"GET /healthz HTTP/1.1\r\n")  # then one byte now and then
    started = time.monotonic()
    closed = False
    while time.monotonic() - started < 5:
        try:
            sock.sendall(b"X")
        except OSError:
            closed = True
            break
        time.sleep(0.2)
    assert closed or closed_by_server(sock, 1)
    sock.close()


def test_a_trickled_body_answers_408_and_closes(strict_server, tenant) -> None:
    _, secret = tenant
    sock = connect(strict_server.port)
    sock.sendall(b"POST /import-projects HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                 b"\r\nContent-Length: 1000\r\nAuthorization: Bearer " + secret.encode()
                 + b"\r\n\r\n{\"rows\": [")
    sock.settimeout(5)
    answer = b""
    while chunk := sock.recv(65536):  # headers and body may come apart; then the close
        answer += chunk
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b"request_timeout" in answer
    sock.close()


def test_one_address_holds_a_bounded_number_of_connections(strict_server) -> None:
    """Over the cap, a connection that sends no request is closed at the header deadline
    (one that does is answered 429: tests/integration/test_refusals.py)."""
    held = [connect(strict_server.port) for _ in range(5)]
    extra = connect(strict_server.port)
    assert closed_by_server(extra, 2)
    extra.close()
    held.pop().close()
    time.sleep(0.2)
    assert httpx.get(f"{strict_server.url}/healthz").status_code == 200
    for sock in held:
        sock.close()
