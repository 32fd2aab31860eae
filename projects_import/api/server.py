"""The HTTP server's own limits, so slow or greedy clients cannot hold the service.

uvicorn closes idle keep-alive connections, but waits forever for a request's headers, admits
any number of connections from one address and answers its own concurrency limit without
`Retry-After`. The protocol here: a request's headers must arrive within the header timeout
(for the first request and every later one on the connection); past the connection limit
(`api/capacity.py`), or past the per-client connection cap for a peer that is not a trusted
proxy, the connection is still served once — its request is answered 503/429 with
`Retry-After` by `api/admission.py`, then closed — with a shorter header deadline. Only a
client that does not send its headers in time is closed without an answer. Nagle's algorithm
is off on every connection. The body's deadline is enforced where it is read (`api/body.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from typing import Any

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from projects_import.api.admission import REFUSED
from projects_import.api.capacity import connection_limit
from projects_import.api.clients import TrustedProxies
from projects_import.settings import Settings

# The header deadline of a connection that will only be told to come back later.
REFUSED_HEADER_SECONDS = 2.0


def _no_delay(transport: asyncio.BaseTransport) -> None:
    """Send small writes at once. asyncio sets TCP_NODELAY only on sockets it created with
    proto=IPPROTO_TCP, not on connections accepted from a listener `serve` bound itself; without
    it a response written as headers then body waits ~40 ms for the client's delayed ACK."""
    sock = transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _Refused:
    """The app of a connection refused at accept time: marks each request for the answer."""

    def __init__(self, app: Any, reason: str) -> None:
        self.app = app
        self.reason = reason

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        scope.setdefault("state", {})[REFUSED] = self.reason
        await self.app(scope, receive, send)


def guarded_protocol(header_timeout: float, max_per_client: int, max_connections: int,
                     trusted: TrustedProxies) -> type[H11Protocol]:
    """An h11 protocol class with a header deadline, a connection limit and a per-address
    connection cap for peers that are not trusted proxies (counted per server: each call
    makes a new class with its own count)."""
    open_by_client: dict[str, int] = {}

    class GuardedH11Protocol(H11Protocol):
        _header_timer: asyncio.TimerHandle | None = None
        _armed_cycle: object = None
        _counted: str | None = None
        _header_seconds = header_timeout

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            super().connection_made(transport)  # type: ignore[arg-type]
            _no_delay(transport)
            host = self.client[0] if self.client else ""
            if len(self.connections) > max_connections:
                self._refuse("overloaded")
            elif host in trusted:
                pass  # a proxy: its clients are counted per request (api/admission.py)
            elif open_by_client.get(host, 0) >= max_per_client:
                self._refuse("client_connections")
            else:
                open_by_client[host] = open_by_client.get(host, 0) + 1
                self._counted = host
            self._arm()

        def _refuse(self, reason: str) -> None:
            self.app = _Refused(self.app, reason)
            self._header_seconds = min(header_timeout, REFUSED_HEADER_SECONDS)

        def connection_lost(self, exc: Exception | None) -> None:
            if self._counted is not None:
                left = open_by_client.get(self._counted, 1) - 1
                if left > 0:
                    open_by_client[self._counted] = left
                else:
                    open_by_client.pop(self._counted, None)
                self._counted = None
            self._disarm()
            super().connection_lost(exc)

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._arm()  # the next request on this connection has the same deadline

        def _arm(self) -> None:
            self._disarm()
            self._armed_cycle = self.cycle
            self._header_timer = self.loop.call_later(self._header_seconds, self._headers_late)

        def _disarm(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _headers_late(self) -> None:
            self._header_timer = None
            if self.cycle is self._armed_cycle and not self.transport.is_closing():
                self.transport.close()  # no request line and headers in time

    return GuardedH11Protocol


def uvicorn_config(app: Any, settings: Settings, **options: Any) -> uvicorn.Config:
    """uvicorn's configuration with the service's connection limits (docs/reliability.md).
    Forwarding headers are read by the app's own middleware (`api/clients.py`)."""
    return uvicorn.Config(
        app,
        http=guarded_protocol(settings.header_timeout_seconds,
                              settings.max_connections_per_client,
                              connection_limit(settings),
                              TrustedProxies(settings.forwarded_allow_ips)),
        timeout_keep_alive=settings.keep_alive_seconds,
        limit_concurrency=None,  # answered by api/admission.py, with Retry-After
        proxy_headers=False,
        h11_max_incomplete_event_size=16 * 1024,  # request line and headers
        **options,
    )
