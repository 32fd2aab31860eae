"""The HTTP side of tests: the app under uvicorn on a loopback port, and user tokens."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import uvicorn

from projects_import.auth import mint_token
from projects_import.settings import Settings

JWT_SECRET = "test-jwt-secret-0123456789abcdef0123456789"


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def user_token(role: str = "operator", **kwargs: Any) -> str:
    """A user JWT signed with the tests' JWT_SECRET."""
    return mint_token(JWT_SECRET, sub=f"user-{role}", role=role, **kwargs)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class LiveServer:
    """The real app under uvicorn on a loopback port, in a background thread."""

    def __init__(self, settings: Settings, database_url: str) -> None:
        from projects_import.api.app import create_app
        from projects_import.api.server import uvicorn_config

        self.settings = settings
        self.app = create_app(settings, database_url)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn_config(self.app, settings, host="127.0.0.1", port=self.port,
                                log_level="error", access_log=False, lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("test server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
