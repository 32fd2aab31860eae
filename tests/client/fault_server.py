"""A real HTTP server on 127.0.0.1 that answers from a script of faults, recording when each
attempt arrived and what it carried. Once the script runs out it answers 200 like the
import route (figures derived from the rows it received)."""

from __future__ import annotations

import gzip
import itertools
import json
import socket
import struct
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Fault:
    """One scripted answer: an HTTP status (with headers and JSON body), or `reset`."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] | None = None
    reset: bool = False


def error(status: int, code: str, message: str = "scripted failure",
          violations: list[dict[str, Any]] | None = None, **headers: str) -> Fault:
    body: dict[str, Any] = {"error": {"code": code, "message": message,
                                      "correlation_id": str(uuid.uuid4())}}
    if violations is not None:
        body["violations"] = violations
    return Fault(status, {k.replace("_", "-"): v for k, v in headers.items()}, body)


RESET = Fault(reset=True)


@dataclass
class Attempt:
    arrived: float
    headers: dict[str, str]
    payload: dict[str, Any]


class FaultServer:
    def __init__(self) -> None:
        self.script: list[Fault] = []
        self.attempts: list[Attempt] = []
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if self.headers.get("Content-Encoding") == "gzip":
                    raw = gzip.decompress(raw)
                with server.lock:
                    server.attempts.append(Attempt(time.monotonic(), dict(self.headers.items()),
                                                   json.loads(raw)))
                    fault = server.script.pop(0) if server.script else None
                if fault is not None and fault.reset:
                    # close without an answer; SO_LINGER 0 makes it a TCP reset
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                               struct.pack("ii", 1, 0))
                    self.close_connection = True
                    self.connection.close()
                    return
                if fault is None:
                    fault = Fault(200, {}, server.success(server.attempts[-1].payload))
                data = json.dumps(fault.body if fault.body is not None else {}).encode()
                self.send_response(fault.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in fault.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/import-projects"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @staticmethod
    def success(payload: dict[str, Any]) -> dict[str, Any]:
        rows = len(payload.get("rows", []))
        return {"batch_id": str(uuid.uuid4()), "correlation_id": payload.get("correlation_id"),
                "tenant_id": payload.get("tenant_id"), "replayed": False,
                "metrics": {"inserted_projects": rows, "updated_projects": 0,
                            "unchanged_projects": 0, "org_memberships_upserted": rows,
                            "user_memberships_upserted": 0, "anomalies_count": 0,
                            "staging_id": str(uuid.uuid4())}}

    def gaps(self) -> list[float]:
        """Seconds between consecutive attempts' arrivals."""
        times = [attempt.arrived for attempt in self.attempts]
        return [later - earlier for earlier, later in itertools.pairwise(times)]

    def start(self) -> FaultServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
