"""One import per tenant in this process: a busy tenant's import is refused before its body
is read.

Concurrency is one import per tenant. The database's per-tenant lock is the real guard
(across processes and replicas); this in-process check only spares the work of reading,
decoding and validating a body that the lock would refuse anyway.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

from projects_import.imports.service import ImportBusy


class TenantBusy(ImportBusy):
    """This process is already importing for the tenant: the same refusal as the database's
    lock (429 `import_in_progress`), found before the body is read."""


class ImportGate:
    def __init__(self) -> None:
        self._in_flight: set[str] = set()
        # SHA-256 of the bearer of each import in flight -> its tenant: the same bearer again
        # is refused without a database round trip (it was authenticated moments ago)
        self._bearers: dict[bytes, str] = {}

    def holder(self, bearer: str) -> str | None:
        """The tenant whose import in flight was sent with this bearer, if any."""
        return self._bearers.get(_digest(bearer))

    @contextmanager
    def turn(self, tenant_id: str, bearer: str) -> Iterator[None]:
        """Hold the tenant's turn for the block; TenantBusy when another request has it."""
        if tenant_id in self._in_flight:
            raise TenantBusy(tenant_id)
        digest = _digest(bearer)
        self._in_flight.add(tenant_id)
        self._bearers[digest] = tenant_id
        try:
            yield
        finally:
            self._in_flight.discard(tenant_id)
            self._bearers.pop(digest, None)


def _digest(bearer: str) -> bytes:
    return hashlib.sha256(bearer.encode("utf-8", "surrogatepass")).digest()
