"""Slow and greedy clients: trickled headers and bodies are cut off at their deadlines, one
address cannot take every connection, and a legitimate import gets through all along.

    .venv/bin/python stress/slow_clients.py [--headers 100] [--bodies 20] [--greedy 300]

Opens --headers connections that send a request's headers one byte every 2 s and --bodies
that send headers and then a body one byte every 2 s (each from its own loopback address),
and --greedy idle connections from 127.0.0.3 (not a trusted proxy); meanwhile a client on
127.0.0.2 imports a batch every 2 s. Reports how many slow connections the server still
held after its deadlines, and the legitimate imports' answers.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))

from harness import Cluster, Service, rows, say

HEADER_TIMEOUT = 5
BODY_TIMEOUT = 10


def trickle(port: int, source: str, first: bytes, then: bytes, until: float,
            closed_at: list[float], started: float) -> None:
    """Send `first`, then `then` one byte every 2 s; record when the server cut us off."""
    try:
        sock = socket.create_connection(("127.0.0.1", port), timeout=5,
                                        source_address=(source, 0))
    except OSError:
        closed_at.append(0.0)  # refused at once
        return
    try:
        sock.sendall(first)
        position = 0
        while time.monotonic() < until:
            sock.settimeout(2)
            try:
                if sock.recv(65536) == b"":
                    break  # closed (after an answer, or none)
                continue  # an answer (408): wait for the close
            except TimeoutError:
                pass
            sock.sendall(then[position:position + 1] or b" ")
            position += 1
        else:
            return  # still open at the end: not recorded
    except OSError:
        pass
    finally:
        sock.close()
    closed_at.append(time.monotonic() - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--headers", type=int, default=100)
    parser.add_argument("--bodies", type=int, default=20)
    parser.add_argument("--greedy", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=45)
    args = parser.parse_args()

    cluster = Cluster()
    service = Service(cluster.url, PROJECTS_IMPORT_HEADER_TIMEOUT_SECONDS=str(HEADER_TIMEOUT),
                      PROJECTS_IMPORT_BODY_TIMEOUT_SECONDS=str(BODY_TIMEOUT))
    try:
        secret = service.add_tenant("SLOW")
        trickler = service.add_tenant("TRICKLER")  # a slow upload holds its own tenant's turn
        started = time.monotonic()
        until = started + args.seconds
        header_closed: list[float] = []
        body_closed: list[float] = []
        head = b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
        post = (b"POST /import-projects HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                b"\r\nContent-Length: 100000\r\nAuthorization: Bearer " + trickler.encode()
                + b"\r\n\r\n")
        # each trickler from its own loopback address: the deadlines cut them off, not the
        # per-address connection cap (which the greedy connections below meet)
        threads = [threading.Thread(target=trickle, args=(
            service.port, f"127.1.0.{i + 1}", head, b"X-Slow: " + b"a" * 100, until,
            header_closed, started)) for i in range(args.headers)]
        threads += [threading.Thread(target=trickle, args=(
            service.port, f"127.2.0.{i + 1}", post, b'{"rows": [' + b" " * 1000, until,
            body_closed, started)) for i in range(args.bodies)]
        for thread in threads:
            thread.start()
        greedy: list[socket.socket] = []
        refused = 0
        for _ in range(args.greedy):
            try:
                sock = socket.create_connection(("127.0.0.1", service.port), timeout=2,
                                                source_address=("127.0.0.3", 0))
                greedy.append(sock)
            except OSError:
                refused += 1
        # over the cap a connection is served once (a 429 if it sends a request); sending
        # nothing, it is closed at the refused connections' 2 s header deadline
        time.sleep(2.5)
        greedy_open = 0
        for sock in greedy:
            sock.setblocking(False)
            try:
                greedy_open += sock.recv(1) != b""
            except BlockingIOError:
                greedy_open += 1
            except OSError:
                pass
        legit: dict[str, int] = {}
        legit_ms: list[float] = []
        transport = httpx.HTTPTransport(local_address="127.0.0.2")
        with httpx.Client(transport=transport, timeout=30) as client:
            n = 0
            while time.monotonic() < until:
                body = {"tenant_id": "SLOW", "batch_id": f"legit-{n}", "rows": rows(100, str(n))}
                t0 = time.perf_counter()
                try:
                    status = str(client.post(f"{service.url}/import-projects", json=body,
                                             headers={"Authorization": f"Bearer {secret}"}
                                             ).status_code)
                except httpx.HTTPError as exc:
                    status = type(exc).__name__
                legit_ms.append((time.perf_counter() - t0) * 1000)
                legit[status] = legit.get(status, 0) + 1
                n += 1
                time.sleep(2)
        for thread in threads:
            thread.join(timeout=30)
        for sock in greedy:
            sock.close()
        result = {
            "header_timeout_s": HEADER_TIMEOUT, "body_timeout_s": BODY_TIMEOUT,
            "trickled_headers": args.headers,
            "headers_cut_off": len(header_closed),
            "headers_cut_off_after_s": [round(min(header_closed, default=0), 1),
                                        round(max(header_closed, default=0), 1)],
            "trickled_bodies": args.bodies,
            "bodies_cut_off": len(body_closed),
            "bodies_cut_off_after_s": [round(min(body_closed, default=0), 1),
                                       round(max(body_closed, default=0), 1)],
            "greedy_connections": args.greedy,
            "greedy_held_open_by_server_after_2_5_s": greedy_open,
            "greedy_refused_at_connect": refused,
            "legit_imports": legit,
            "legit_import_ms_max": round(max(legit_ms, default=0), 1),
            "seconds": args.seconds,
        }
        say(json.dumps(result, indent=1))
    finally:
        service.close()
        cluster.close()


if __name__ == "__main__":
    main()
