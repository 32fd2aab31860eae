"""Monitoring as code: every expression of `monitoring/prometheus-rules.yml` and
`monitoring/grafana-dashboard.json` names metrics (and labels) that a live service exports —
checked against a real scrape after an import — and the database gauges say what the data
says: open and overdue problems, last success, late and paused tenants, alert deliveries."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.support import batch, project_row

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "monitoring" / "prometheus-rules.yml"
DASHBOARD = ROOT / "monitoring" / "grafana-dashboard.json"
# a metric name with an optional label selector, as written in PromQL
SELECTOR = re.compile(r"\b(projects_import_[a-z0-9_]+)(\{([^}]*)\})?")
LABEL = re.compile(r"([a-z_]+)\s*(=~|!~|!=|=)")
GROUPING = re.compile(r"\b(?:by|on|without|ignoring)\s*\(([^)]*)\)")


@pytest.fixture(autouse=True)
def uncached_metrics(monkeypatch) -> None:
    """These tests change the database between scrapes and read the change at once."""
    monkeypatch.setenv("PROJECTS_IMPORT_METRICS_CACHE_SECONDS", "0")


def scrape(http: httpx.Client) -> dict[str, set[str]]:
    """Exported sample names → the label names they carry."""
    response = http.get("/metrics")
    assert response.status_code == 200
    exported: dict[str, set[str]] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            exported.setdefault(sample.name, set()).update(sample.labels)
    return exported


def rule_expressions() -> list[str]:
    doc = yaml.safe_load(RULES.read_text())
    return [rule["expr"] for group in doc["groups"] for rule in group["rules"]]


def dashboard_expressions() -> list[str]:
    doc = json.loads(DASHBOARD.read_text())
    found = [target["expr"] for panel in doc["panels"] for target in panel.get("targets", [])]
    found += [var["definition"] for var in doc["templating"]["list"] if var["type"] == "query"]
    return found


def check(expression: str, exported: dict[str, set[str]]) -> list[str]:
    """What in one expression the service does not export."""
    problems = []
    names = SELECTOR.findall(expression)
    if not names:
        problems.append(f"names no projects_import metric: {expression}")
    labels_seen: set[str] = set()
    for name, _braces, selector in names:
        if name not in exported:
            problems.append(f"{name} is not exported")
            continue
        labels_seen |= exported[name]
        for label, _op in LABEL.findall(selector):
            if label not in exported[name]:
                problems.append(f"{name} has no label {label}")
    for grouping in GROUPING.findall(expression):
        for label in (part.strip() for part in grouping.split(",") if part.strip()):
            if label not in labels_seen | {"le"}:
                problems.append(f"grouping by {label}, which no metric here carries")
    return problems


@pytest.fixture
def busy_service(http: httpx.Client, db, tenant, directories) -> dict[str, set[str]]:
    """A service that took an import with anomalies, refused a bad one, and has a problem past
    its SLA and an alert delivery in its log; scraped once."""
    _, secret = tenant
    rows = [project_row("STG-000000000001"),
            project_row("STG-000000000002", deployment_specialist="ghost.one")]
    auth = {"Authorization": f"Bearer {secret}"}
    assert http.post("/import-projects", json=batch(rows), headers=auth).status_code == 200
    assert http.post("/import-projects", json={"tenant_id": "TELCO", "rows": []},
                     headers=auth).status_code == 422
    db.execute("update import_problems set ack_due_at = now() - interval '1 minute'")
    db.execute("""insert into alert_deliveries (tenant_id, kind, fingerprint, problem_ids,
                      reasons, window_start, window_end, body, status)
                  values ('TELCO', 'alert', 'f', '{1}', '{errors}', now(), now(), '{}',
                          'delivered')""")
    return scrape(http)


def test_every_rule_expression_names_exported_metrics(busy_service) -> None:
    expressions = rule_expressions()
    assert len(expressions) >= 8
    problems = [p for e in expressions for p in check(e, busy_service)]
    assert problems == []


def test_every_dashboard_expression_names_exported_metrics(busy_service) -> None:
    expressions = dashboard_expressions()
    assert len(expressions) >= 12
    problems = [p for e in expressions for p in check(e, busy_service)]
    assert problems == []


def test_the_check_catches_a_wrong_name_or_label(busy_service) -> None:
    assert check("projects_import_no_such_total > 0", busy_service) == [
        "projects_import_no_such_total is not exported"]
    assert check('projects_import_tenant_late{tenant_id="T"} == 1', busy_service) == [
        "projects_import_tenant_late has no label tenant_id"]
    assert check("sum by (tenant) (rate(projects_import_requests_total[5m]))",
                 busy_service) == ["grouping by tenant, which no metric here carries"]


def test_monitoring_covers_what_operators_watch() -> None:
    """Success rate, rows, latency, open and overdue problems, late and paused tenants."""
    text = " ".join(rule_expressions() + dashboard_expressions())
    for metric in ("projects_import_requests_total", "projects_import_rows_total",
                   "projects_import_merge_seconds_bucket", "projects_import_problems_open",
                   "projects_import_problems_overdue", "projects_import_tenant_late",
                   "projects_import_tenant_paused",
                   "projects_import_last_success_timestamp_seconds"):
        assert metric in text, metric


def metric_values(http: httpx.Client, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    response = http.get("/metrics")
    values = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if sample.name == name:
                values[tuple(sorted(sample.labels.items()))] = sample.value
    return values


def test_a_late_tenant_shows_in_metrics_until_its_batch_arrives(http, db, tenant,
                                                                directories) -> None:
    _, secret = tenant
    db.execute("update tenants set created_at = now() - interval '3 days', "
               "business_days = '{1,2,3,4,5,6,7}', schedule_grace_minutes = 0 "
               "where tenant_id = 'TELCO'")
    assert metric_values(http, "projects_import_tenant_late") == {(("tenant", "TELCO"),): 1.0}
    assert metric_values(http, "projects_import_last_success_timestamp_seconds") == {}
    response = http.post("/import-projects", json=batch([project_row("STG-000000000001")]),
                         headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 200
    assert metric_values(http, "projects_import_tenant_late") == {(("tenant", "TELCO"),): 0.0}
    (stamp,) = metric_values(http, "projects_import_last_success_timestamp_seconds").values()
    now = db.execute("select extract(epoch from now())::float8 as t").fetchone()["t"]
    assert now - 60 < stamp <= now
    db.execute("update tenants set paused_at = now(), paused_reason = 'bad data' "
               "where tenant_id = 'TELCO'")
    assert metric_values(http, "projects_import_tenant_paused") == {(("tenant", "TELCO"),): 1.0}


def test_problem_and_delivery_gauges(http, db, tenant, directories) -> None:
    _, secret = tenant
    rows = [project_row(f"STG-{i:012d}", deployment_specialist=f"ghost.{i}") for i in range(3)]
    rows.append(project_row("STG-000000000099", delivery_partner="Nowhere Builders"))
    auth = {"Authorization": f"Bearer {secret}"}
    assert http.post("/import-projects", json=batch(rows), headers=auth).status_code == 200
    ids = [r["id"] for r in db.execute("select id from import_problems where "
                                       "anomaly_type = 'UNKNOWN_DS' order by id").fetchall()]
    db.execute("update import_problems set status = 'acknowledged', acknowledged_at = now(), "
               "acknowledged_by = 'u' where id = %s", (ids[0],))
    db.execute("update import_problems set status = 'resolved', resolved_at = now(), "
               "resolution = 'manual', resolved_by = 'u' where id = %s", (ids[1],))
    db.execute("update import_problems set resolve_due_at = now() - interval '1 hour' "
               "where id = any(%s)", (ids,))
    ds = (("anomaly_type", "UNKNOWN_DS"), ("severity", "error"), ("tenant", "TELCO"))
    dp = (("anomaly_type", "UNKNOWN_DELIVERY_PARTNER"), ("severity", "warning"),
          ("tenant", "TELCO"))
    assert metric_values(http, "projects_import_problems_open") == {ds: 1.0, dp: 1.0}
    assert metric_values(http, "projects_import_problems_acknowledged") == {ds: 1.0, dp: 0.0}
    # the resolved one is never counted, even past its clock
    assert metric_values(http, "projects_import_problems_overdue") == {ds: 2.0, dp: 0.0}
    for status in ("delivered", "failed", "failed"):
        db.execute("""insert into alert_deliveries (tenant_id, kind, fingerprint, problem_ids,
                          reasons, window_start, window_end, body, status)
                      values ('TELCO', 'alert', 'f', '{1}', '{errors}', now(), now(), '{}',
                              %s)""", (status,))
    values: dict[Any, float] = metric_values(http, "projects_import_alert_deliveries")
    assert values == {(("kind", "alert"), ("status", "delivered"), ("tenant", "TELCO")): 1.0,
                      (("kind", "alert"), ("status", "failed"), ("tenant", "TELCO")): 2.0}
    assert metric_values(http, "projects_import_database_up") == {(): 1.0}
