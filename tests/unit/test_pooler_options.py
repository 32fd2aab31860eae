"""Which connections are treated as going through a transaction-mode pooler."""

from __future__ import annotations

import pytest

from projects_import.db.connection import connection_options

DIRECT = "postgresql://postgres:pw@db.abc.supabase.co:5432/postgres"
POOLED = "postgresql://postgres.abc:pw@aws-0-eu.pooler.supabase.com:6543/postgres"


@pytest.fixture(autouse=True)
def _no_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PROJECTS_IMPORT_POOLER", raising=False)


def test_the_direct_connection_keeps_prepared_statements() -> None:
    assert connection_options(DIRECT) == (DIRECT, {})


def test_port_6543_means_transaction_mode() -> None:
    assert connection_options(POOLED) == (POOLED, {"prepare_threshold": None})


def test_pgbouncer_true_is_understood_and_removed_for_libpq() -> None:
    url, options = connection_options(DIRECT.replace("5432", "6432")
                                      + "?pgbouncer=true&sslmode=require")
    assert url.endswith(":6432/postgres?sslmode=require")
    assert options == {"prepare_threshold": None}


def test_the_setting_wins_over_the_url(monkeypatch: pytest.MonkeyPatch) -> None:
    assert connection_options(POOLED, "session") == (POOLED, {})
    monkeypatch.setenv("PROJECTS_IMPORT_POOLER", "transaction")
    assert connection_options(DIRECT) == (DIRECT, {"prepare_threshold": None})


def test_an_unknown_setting_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROJECTS_IMPORT_POOLER", "statement")
    with pytest.raises(ValueError, match="PROJECTS_IMPORT_POOLER"):
        connection_options(DIRECT)
