"""The in-process import gate: one import per tenant; the same bearer again is recognised
without the database while its import is in flight, and forgotten after."""

from __future__ import annotations

import pytest

from projects_import.api.throttle import ImportGate, TenantBusy
from projects_import.imports.service import ImportBusy


def test_one_turn_per_tenant_and_the_bearer_is_known_only_meanwhile() -> None:
    gate = ImportGate()
    assert gate.holder("pit_a.secret") is None
    with gate.turn("TELCO", "pit_a.secret"):
        assert gate.holder("pit_a.secret") == "TELCO"
        assert gate.holder("pit_b.other") is None
        with pytest.raises(TenantBusy) as busy, gate.turn("TELCO", "pit_c.rotated"):
            pass
        # the database lock's refusal, found earlier: same family, code and status
        assert isinstance(busy.value, ImportBusy)
        assert (busy.value.http_status, busy.value.code) == (429, "import_in_progress")
        assert busy.value.tenant_id == "TELCO"
        with gate.turn("OTHER", "pit_b.other"):
            assert gate.holder("pit_b.other") == "OTHER"
    assert gate.holder("pit_a.secret") is None
    with gate.turn("TELCO", "pit_a.secret"):
        pass


def test_a_failed_import_gives_the_turn_back() -> None:
    gate = ImportGate()
    with pytest.raises(RuntimeError), gate.turn("TELCO", "pit_a.secret"):
        raise RuntimeError("boom")
    assert gate.holder("pit_a.secret") is None
    with gate.turn("TELCO", "pit_a.secret"):
        pass
