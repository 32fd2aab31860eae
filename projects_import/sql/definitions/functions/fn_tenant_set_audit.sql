-- fn_tenant_set_audit(tenant, enabled, ended, anomaly, changed, min_rows) — change a tenant's
-- audit limits (null keeps a value); answers the limits. Errors: P0002 no tenant, 23514 a
-- share outside 0..1 or a negative minimum.
create or replace function public.fn_tenant_set_audit(
    p_tenant_id text, p_enabled boolean default null, p_max_ended_share numeric default null,
    p_max_anomaly_share numeric default null, p_max_changed_share numeric default null,
    p_min_rows integer default null)
    returns jsonb
    language plpgsql
    set search_path = public, pg_temp
    as $$
begin
    update tenants
       set audit_enabled = coalesce(p_enabled, audit_enabled),
           audit_max_ended_share = coalesce(p_max_ended_share, audit_max_ended_share),
           audit_max_anomaly_share = coalesce(p_max_anomaly_share, audit_max_anomaly_share),
           audit_max_changed_share = coalesce(p_max_changed_share, audit_max_changed_share),
           audit_min_rows = coalesce(p_min_rows, audit_min_rows)
     where tenant_id = p_tenant_id;
    if not found then
        raise exception 'no tenant %', p_tenant_id using errcode = 'no_data_found';
    end if;
    return fn_import_audit_limits(p_tenant_id);
end
$$;

select public.fn_privileges_set(
    'function public.fn_tenant_set_audit(text, boolean, numeric, numeric, numeric, integer)',
    'execute', 'service_role');
