from __future__ import annotations

import pytest

from tests.support import batch, project_row

pytestmark = pytest.mark.engine  # one whole import on each engine


def test_first_import_answers_documented_metrics(http, tenant, directories) -> None:
    tenant_id, secret = tenant
    rows = [project_row(f"STG-{i:012d}") for i in range(3)]
    response = http.post("/import-projects", json=batch(rows),
                         headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["tenant_id"] == tenant_id
    assert body["replayed"] is False
    metrics = body["metrics"]
    assert metrics["inserted_projects"] == 3
    assert metrics["org_memberships_upserted"] == 3
    assert metrics["user_memberships_upserted"] == 6
    assert metrics["anomalies_count"] == 0
