"""`verify` expects what this release's migrations build: the objects of `sql/schema.sql`."""

from __future__ import annotations

from projects_import.db import snapshot
from projects_import.operations import verify

# The runbook's verification names these; they must stay among what `verify` checks.
RUNBOOK_TABLES = {
    "tenants", "tenant_secrets", "partner_normalization", "ds_directory", "rm_directory",
    "organizations", "projects", "project_org_memberships", "project_user_memberships",
    "staging_imports", "import_anomalies", "import_retention_stats"}
RUNBOOK_VIEWS = {"vw_project_members", "vw_import_anomalies_recent",
                 "vw_import_anomalies_stats_24h"}
RUNBOOK_FUNCTIONS = {"fn_projects_import_merge", "fn_projects_membership_backfill",
                     "fn_cleanup_import_data", "fn_anomalies_for_operator",
                     "fn_anomalies_stats"}


def test_verify_expects_every_runbook_object_from_the_snapshot() -> None:
    assert RUNBOOK_TABLES.issubset(verify.TABLES)
    assert RUNBOOK_VIEWS.issubset(verify.VIEWS)
    assert RUNBOOK_FUNCTIONS.issubset(verify.FUNCTIONS)
    assert all(verify.EXPECTED.tables[name] for name in RUNBOOK_TABLES)  # RLS expected on


def test_objects_are_read_from_the_snapshot_text() -> None:
    text = ("table public.a (rls)\n  id bigint\ntable public.b\nview public.v as select 1\n"
            "function public.f(p integer) returns void [sql, stable]:\n"
            "function public.f(p text) returns void [sql, stable]:\n"
            "function auth.jwt() returns jsonb [sql, stable]:\n"
            "index public.a_pkey on a\n")
    found = snapshot.objects(text)
    assert found.tables == {"a": True, "b": False}
    assert found.views == ("v",)
    assert found.functions == ("f",)
