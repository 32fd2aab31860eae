"""Connections accepted from a listener `serve` binds itself get TCP_NODELAY (asyncio only
sets it on sockets it created), so keep-alive responses are not held for a delayed ACK."""

from __future__ import annotations

import socket
from typing import Any

from projects_import.api.server import _no_delay


class Transport:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def get_extra_info(self, name: str) -> Any:
        return self.sock if name == "socket" else None


def test_accepted_connections_get_no_delay() -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        client = socket.create_connection(listener.getsockname())
        accepted, _ = listener.accept()
        with client, accepted:
            assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0
            _no_delay(Transport(accepted))  # type: ignore[arg-type]
            assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
