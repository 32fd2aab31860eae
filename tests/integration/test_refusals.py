"""Every request refused for load or limits gets an HTTP answer — 429 or 503 with
`Retry-After`, the error shape, a count in /metrics — never a reset: from one address, from
many tenants at once, and through a reverse proxy where every request comes from the proxy's
address and the client is the forwarded one."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from projects_import.settings import Settings
from tests.support import batch, create_tenant, project_row
from tests.support.http import bearer, user_token
from tests.support.proxy import ReverseProxy

ANSWERED = {200, 429, 503}


def concurrent_gets(url: str, path: str, count: int, *, sources: int = 1,
                    headers: dict[str, str] | None = None) -> list[Any]:
    """`count` GETs at once, each on its own connection, from `sources` loopback addresses
    (127.0.0.2, 127.0.0.3, …); a response, or the exception a client got instead."""

    async def run() -> list[Any]:
        clients = [httpx.AsyncClient(base_url=url, timeout=60, headers=headers,
                                     limits=httpx.Limits(max_connections=count),
                                     transport=httpx.AsyncHTTPTransport(
                                         local_address=f"127.0.0.{2 + n}"))
                   for n in range(sources)]
        try:
            return await asyncio.gather(*(clients[n % sources].get(path) for n in range(count)),
                                        return_exceptions=True)
        finally:
            for client in clients:
                await client.aclose()

    return asyncio.run(run())


def assert_every_request_answered(answers: list[Any]) -> Counter[int]:
    failures = [repr(a) for a in answers if not isinstance(a, httpx.Response)]
    assert failures == [], f"{len(failures)} requests got no HTTP answer: {failures[:3]}"
    statuses = Counter(a.status_code for a in answers)
    assert set(statuses) <= ANSWERED, statuses
    for answer in answers:
        if answer.status_code in (429, 503):
            assert int(answer.headers["retry-after"]) >= 1
            error = answer.json()["error"]
            assert error["code"] in ("too_many_requests", "too_many_connections", "overloaded")
            assert error["correlation_id"] and "retry" in error["message"]
    return statuses


def refused_counts(url: str) -> dict[str, float]:
    text = httpx.get(f"{url}/metrics").text
    return {sample.labels["reason"]: sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
            if sample.name == "projects_import_requests_refused_total"}


def test_150_concurrent_reads_from_one_address_all_get_an_answer(live_server, tenant) -> None:
    answers = concurrent_gets(live_server.url, "/anomalies?stats=true", 150,
                              headers=bearer(user_token()))
    statuses = assert_every_request_answered(answers)
    assert statuses[200] >= 32, statuses
    # 127.0.0.2 is no proxy: its 33rd connection on is answered 429 too_many_connections
    assert sum(refused_counts(live_server.url).values()) == statuses[429]


@pytest.fixture
def tight_server(settings, make_server, monkeypatch):
    monkeypatch.setenv("PROJECTS_IMPORT_MAX_CONNECTIONS_PER_CLIENT", "8")
    return make_server(Settings())


def test_four_tenants_with_eight_clients_each_from_one_address(tight_server, database_url,
                                                               db) -> None:
    secrets = {t: create_tenant(database_url, t) for t in ("T1", "T2", "T3", "T4")}
    for t in secrets:
        db.execute("insert into partner_normalization (tenant_id, alias, canonical) values "
                   "(%s, 'Acme Civil', 'Acme Civil Pty Ltd')", (t,))

    def client(job: tuple[str, int]) -> list[Any]:
        tenant_id, n = job
        results: list[Any] = []
        with httpx.Client(base_url=tight_server.url, timeout=60) as http:
            for k in range(3):
                rows = [project_row(f"STG-{n:04d}{k:04d}{i:04d}") for i in range(20)]
                try:
                    results.append(http.post(
                        "/import-projects", headers=bearer(secrets[tenant_id]),
                        json=batch(rows, tenant_id=tenant_id, batch_id=f"b-{n}-{k}")))
                except httpx.HTTPError as exc:
                    results.append(exc)
        return results

    jobs = [(t, n) for t in secrets for n in range(8)]
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        answers = [a for results in pool.map(client, jobs) for a in results]
    failures = [repr(a) for a in answers if not isinstance(a, httpx.Response)]
    assert failures == []
    statuses = Counter(a.status_code for a in answers)
    assert set(statuses) <= {200, 429, 503}, statuses
    assert statuses[200] >= 4 and statuses[429] >= 1, statuses
    assert all(int(a.headers["retry-after"]) >= 1 for a in answers if a.status_code != 200)
    counted = refused_counts(tight_server.url)
    busy = sum(1 for a in answers if a.status_code == 429
               and a.json()["error"]["code"] == "too_many_requests")
    assert counted.get("client_requests", 0) == busy


@pytest.fixture
def untrusting_server(settings, make_server, monkeypatch):
    """Loopback peers are clients here, not proxies: the connection cap applies to them."""
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "")
    monkeypatch.setenv("PROJECTS_IMPORT_MAX_CONNECTIONS_PER_CLIENT", "5")
    return make_server(Settings())


def raw_get(sock: socket.socket, path: str = "/healthz",
            extra: bytes = b"") -> tuple[int, dict[str, str], bytes]:
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n".encode() + extra + b"\r\n")
    sock.settimeout(10)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, "closed without an answer"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    fields = dict(line.lower().split(": ", 1) for line in lines[1:])
    while len(body) < int(fields.get("content-length", "0")):
        body += sock.recv(65536)
    return int(lines[0].split()[1]), fields, body


def test_a_connection_over_the_per_address_cap_is_answered_then_closed(
        untrusting_server) -> None:
    held = [socket.create_connection(("127.0.0.1", untrusting_server.port)) for _ in range(5)]
    extra = socket.create_connection(("127.0.0.1", untrusting_server.port))
    status, fields, body = raw_get(extra)
    assert status == 429 and fields["retry-after"] == "1" and fields["connection"] == "close"
    assert b"too_many_connections" in body
    assert extra.recv(1) == b""  # then closed
    extra.close()
    # a forged X-Forwarded-For from a peer that is not a trusted proxy changes nothing
    forged = socket.create_connection(("127.0.0.1", untrusting_server.port))
    assert raw_get(forged, extra=b"X-Forwarded-For: 203.0.113.9\r\n")[0] == 429
    forged.close()
    held.pop().close()
    assert httpx.get(f"{untrusting_server.url}/healthz").status_code == 200
    for sock in held:
        sock.close()
    assert refused_counts(untrusting_server.url)["client_connections"] == 2


def test_over_the_connection_limit_a_request_is_answered_503(settings, make_server,
                                                             monkeypatch, capsys) -> None:
    monkeypatch.setenv("PROJECTS_IMPORT_MAX_CONNECTIONS", "3")
    server = make_server(Settings())
    capsys.readouterr()
    held = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(3)]
    extra = socket.create_connection(("127.0.0.1", server.port))
    status, fields, body = raw_get(extra, "/anomalies")
    assert status == 503 and int(fields["retry-after"]) >= 1
    assert b'"overloaded"' in body and b"limit of 3 connections" in body
    for sock in [*held, extra]:
        sock.close()
    time.sleep(0.3)  # the server sees the closes, and logs after it answered
    logged = [json.loads(line) for line in capsys.readouterr().err.splitlines()
              if line.startswith("{")]
    refused = [e for e in logged if e["event"] == "request_refused"]
    assert [(e["reason"], e["status"]) for e in refused] == [("overloaded", 503)]
    request = next(e for e in logged if e["event"] == "request")
    assert (request["status"], request["error_code"]) == (503, "overloaded")
    assert request["correlation_id"] == refused[0]["correlation_id"]
    assert refused_counts(server.url) == {"overloaded": 1.0}


@pytest.fixture
def proxy(live_server) -> Iterator[ReverseProxy]:
    front = ReverseProxy(live_server.port).start()
    yield front
    front.stop()


def test_behind_a_proxy_many_clients_are_not_capped_at_one_address(proxy, tenant) -> None:
    """150 reads from 50 client addresses, all through the proxy's one address: the per-client
    cap counts each forwarded client, so nothing is refused."""
    answers = concurrent_gets(proxy.url, "/anomalies?stats=true", 150, sources=50,
                              headers=bearer(user_token()))
    statuses = assert_every_request_answered(answers)
    assert statuses == {200: 150}
    assert proxy.upstream_resets == 0


def test_behind_a_proxy_one_greedy_client_is_answered_not_reset(proxy, live_server,
                                                                 tenant) -> None:
    answers = concurrent_gets(proxy.url, "/anomalies?stats=true", 150,
                              headers=bearer(user_token()))
    statuses = assert_every_request_answered(answers)
    assert proxy.upstream_resets == 0
    assert refused_counts(live_server.url).get("client_requests", 0) == statuses[429]
