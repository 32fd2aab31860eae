"""The HTTP server's own limits, so slow or greedy clients cannot hold the service.

uvicorn closes idle keep-alive connections and can cap concurrent connections, but waits
forever for a request's headers and admits any number of connections from one address. The
protocol here adds both: a request's headers must arrive within the header timeout (for the
first request and every later one on the connection), and one client address holds at most
a fixed number of connections; and it turns Nagle's algorithm off on every connection. The
body's deadline is enforced where it is read (`api/body.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from typing import Any

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from projects_import.settings import Settings


def _no_delay(transport: asyncio.BaseTransport) -> None:
    """Send small writes at once. asyncio sets TCP_NODELAY only on sockets it created with
    proto=IPPROTO_TCP, not on connections accepted from a listener `serve` bound itself; without
    it a response written as headers then body waits ~40 ms for the client's delayed ACK."""
    sock = transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def guarded_protocol(header_timeout: float, max_per_client: int) -> type[H11Protocol]:
    """An h11 protocol class with a header deadline and a per-address connection cap
    (counted per server: each call makes a new class with its own count)."""
    open_by_client: dict[str, int] = {}

    class GuardedH11Protocol(H11Protocol):
        _header_timer: asyncio.TimerHandle | None = None
        _armed_cycle: object = None
        _counted: str | None = None

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            super().connection_made(transport)  # type: ignore[arg-type]
            _no_delay(transport)
            host = self.client[0] if self.client else ""
            if open_by_client.get(host, 0) >= max_per_client:
                transport.close()
                return
            open_by_client[host] = open_by_client.get(host, 0) + 1
            self._counted = host
            self._arm()

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
            self._header_timer = self.loop.call_later(header_timeout, self._headers_late)

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
    """uvicorn's configuration with the service's connection limits (docs/reliability.md)."""
    return uvicorn.Config(
        app,
        http=guarded_protocol(settings.header_timeout_seconds,
                              settings.max_connections_per_client),
        timeout_keep_alive=settings.keep_alive_seconds,
        limit_concurrency=settings.max_connections,
        h11_max_incomplete_event_size=16 * 1024,  # request line and headers
        **options,
    )
