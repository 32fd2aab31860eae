"""A small reverse proxy for tests, on loopback: one upstream connection per request, the
client's address appended to `X-Forwarded-For`, `X-Forwarded-Proto: https` (it stands for a
proxy that terminates TLS), and the upstream's answer passed back as it came. A request the
upstream resets becomes a 502 from the proxy, so a test sees which side dropped it."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from tests.support.http import free_port


class ReverseProxy:
    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.upstream_resets = 0
        self._loop = asyncio.new_event_loop()
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._server: asyncio.base_events.Server | None = None

    def start(self) -> ReverseProxy:
        self._thread.start()
        assert self._started.wait(10), "proxy did not start"
        return self

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._serve, "127.0.0.1", self.port, backlog=512))
        self._started.set()
        self._loop.run_forever()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer: Any = writer.get_extra_info("peername")
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                lines = head.decode("latin-1").split("\r\n")
                headers = [line for line in lines[1:] if line]
                length = 0
                for line in headers:
                    name, _, value = line.partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value.strip())
                body = await reader.readexactly(length) if length else b""
                kept = [h for h in headers if h.split(":", 1)[0].strip().lower()
                        not in ("connection", "x-forwarded-proto")]
                kept += [f"X-Forwarded-For: {peer[0]}", "X-Forwarded-Proto: https",
                         "Connection: close"]
                request = (lines[0] + "\r\n" + "\r\n".join(kept) + "\r\n\r\n").encode("latin-1")
                answer = await self._forward(request + body)
                writer.write(answer)
                await writer.drain()
        finally:
            writer.close()

    async def _forward(self, request: bytes) -> bytes:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
            up_writer.write(request)
            await up_writer.drain()
            answer = await up_reader.read()  # the upstream closes after its answer
            up_writer.close()
        except ConnectionError:
            answer = b""
        if not answer.startswith(b"HTTP/1.1 "):
            self.upstream_resets += 1
            return (b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n"
                    b"Connection: close\r\n\r\n")
        head, _, rest = answer.partition(b"\r\n\r\n")
        # the client's connection stays open: the upstream's close is not the client's
        kept = [h for h in head.split(b"\r\n") if not h.lower().startswith(b"connection:")]
        return b"\r\n".join(kept) + b"\r\n\r\n" + rest
