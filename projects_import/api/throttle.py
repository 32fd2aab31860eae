"""Answer a busy tenant's 429 before reading its body.

Concurrency is one import per tenant. The database's per-tenant lock is the real guard
(across processes and replicas); this in-process check only spares the work of reading,
decoding and validating a body that the lock would refuse anyway.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


class TenantBusy(Exception):
    """This process is already importing for the tenant."""


class ImportGate:
    def __init__(self) -> None:
        self._in_flight: set[str] = set()

    @contextmanager
    def turn(self, tenant_id: str) -> Iterator[None]:
        """Hold the tenant's turn for the block; TenantBusy when another request has it."""
        if tenant_id in self._in_flight:
            raise TenantBusy(tenant_id)
        self._in_flight.add(tenant_id)
        try:
            yield
        finally:
            self._in_flight.discard(tenant_id)
