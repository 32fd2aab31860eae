"""Through a transaction-mode pooler (PROJECTS_IMPORT_TEST_POOLER_URL, PgBouncer in CI): the
service's pool uses no prepared statements, so a query repeated on one client connection keeps
working although PgBouncer hands each transaction to whichever server session is free."""

from __future__ import annotations

import asyncio
import os

import pytest

from projects_import.db.connection import Database

pytestmark = [
    pytest.mark.engine,
    pytest.mark.skipif(not os.environ.get("PROJECTS_IMPORT_TEST_POOLER_URL"),
                       reason="set PROJECTS_IMPORT_TEST_POOLER_URL to a pooler"),
]


def test_repeated_queries_and_user_transactions_work_through_the_pooler(database_url) -> None:
    claims = {"sub": "op", "role": "authenticated", "app_metadata": {"role": "operator"}}

    async def run() -> list[int]:
        # Two pools taking turns: PgBouncer serves both from the same free server session, where
        # psycopg's automatic prepared statements (`_pg3_0`, …) of one would meet the other's.
        async with (Database(database_url, max_size=1) as first,
                    Database(database_url, max_size=1) as second):
            seen = []
            for turn in range(20):
                async with (first if turn % 2 else second).user_transaction(claims) as tx:
                    rows = await tx.fetch_all("anomalies_stats", window_hours=24, tenant=None,
                                              severity=None, anomaly_type=None)
                    seen.append(len(rows))
            return seen

    assert asyncio.run(run()) == [0] * 20
