-- fn_import_audit_limits(tenant) — the tenant's audit limits as jsonb (SPEC §10 names).
create or replace function public.fn_import_audit_limits(p_tenant_id text)
    returns jsonb
    language sql stable
    set search_path = public, pg_temp
    as $$
    select jsonb_build_object(
               'enabled', t.audit_enabled,
               'max_ended_share', t.audit_max_ended_share,
               'max_anomaly_share', t.audit_max_anomaly_share,
               'max_changed_share', t.audit_max_changed_share,
               'min_rows', t.audit_min_rows)
      from tenants t
     where t.tenant_id = p_tenant_id
$$;

select public.fn_privileges_set(
    'function public.fn_import_audit_limits(text)',
    'execute', 'service_role');
