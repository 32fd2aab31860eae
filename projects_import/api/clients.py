"""Who the client is: the peer, or — when the peer is a trusted proxy (FORWARDED_ALLOW_IPS) —
the address the proxy says it forwarded for.

A request from a trusted peer takes its client address from `Forwarded: for=…` (RFC 7239) or
else `X-Forwarded-For`, read right to left and skipping trusted hops, so a client cannot name
itself by sending the header through the proxy; and its scheme from `proto=` or
`X-Forwarded-Proto`. From any other peer those headers are ignored. Every per-client limit
(connections, requests in flight, sign-in attempts) keys on the address this gives.
"""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache

from starlette.types import ASGIApp, Receive, Scope, Send

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
_FOR = re.compile(r'(?:^|;)\s*for\s*=\s*("[^"]*"|[^;,\s]*)', re.IGNORECASE)
_PROTO = re.compile(r'(?:^|;)\s*proto\s*=\s*("[^"]*"|[^;,\s]*)', re.IGNORECASE)


class TrustedProxies:
    """Addresses and networks (`10.0.0.0/8`) whose forwarding headers are believed; `*` for
    any peer (only when nothing but the proxy can reach the service)."""

    def __init__(self, spec: str) -> None:
        items = [item.strip() for item in spec.split(",") if item.strip()]
        self.everyone = "*" in items
        self.networks: list[IPNetwork] = []
        for item in items:
            if item != "*":
                try:
                    self.networks.append(ipaddress.ip_network(item, strict=False))
                except ValueError as exc:
                    raise ValueError(f"FORWARDED_ALLOW_IPS: {item!r} is not an IP address or "
                                     "network") from exc
        self.trusts = lru_cache(maxsize=4096)(self._trusts)

    def _trusts(self, host: str) -> bool:
        if self.everyone:
            return True
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in network for network in self.networks)

    def __contains__(self, host: object) -> bool:
        return isinstance(host, str) and len(host) <= 64 and self.trusts(host)


def _unquote(value: str) -> str:
    value = value.strip().strip('"')
    if value.startswith("["):  # "[2001:db8::1]:4711"
        return value[1:value.find("]")] if "]" in value else value
    if value.count(":") == 1:  # "192.0.2.1:4711"
        return value.split(":", 1)[0]
    return value


def forwarded_chain(headers: list[tuple[bytes, bytes]]) -> tuple[list[str], str | None]:
    """The forwarded-for addresses, nearest hop last, and the first hop's scheme."""
    forwarded = [v.decode("latin-1") for k, v in headers if k == b"forwarded"]
    if forwarded:
        elements = ",".join(forwarded).split(",")
        chain = [_unquote(m.group(1)) for e in elements if (m := _FOR.search(e))]
        protos = [_unquote(m.group(1)).lower() for e in elements if (m := _PROTO.search(e))]
        return chain, protos[0] if protos else None
    xff = ",".join(v.decode("latin-1") for k, v in headers if k == b"x-forwarded-for")
    chain = [_unquote(part) for part in xff.split(",") if part.strip()]
    proto = next((v.decode("latin-1").split(",")[0].strip().lower() for k, v in headers
                  if k == b"x-forwarded-proto"), None)
    return chain, proto


def resolve(peer: str, headers: list[tuple[bytes, bytes]],
            trusted: TrustedProxies) -> tuple[str, str | None]:
    """(client address, forwarded scheme or None) of a request from `peer`."""
    if peer not in trusted:
        return peer, None
    chain, proto = forwarded_chain(headers)
    client = peer
    for hop in reversed(chain[-16:]):
        client = hop
        if hop not in trusted:
            break
    return client, proto if proto in ("http", "https") else None


class ForwardedMiddleware:
    """Rewrites `client` and `scheme` of requests from trusted proxies (see the module)."""

    def __init__(self, app: ASGIApp, trusted: TrustedProxies) -> None:
        self.app = app
        self.trusted = trusted

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("client"):
            peer, _port = scope["client"]
            client, proto = resolve(peer, scope["headers"], self.trusted)
            if client != peer:
                scope["client"] = (client, 0)
            if proto is not None:
                scope["scheme"] = proto
        await self.app(scope, receive, send)
