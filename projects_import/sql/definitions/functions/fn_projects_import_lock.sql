-- fn_projects_import_lock(tenant) — the tenant's import lock until the transaction ends
-- (imports, backfills and directory fixes of one tenant run one at a time).
create or replace function public.fn_projects_import_lock(p_tenant_id text) returns void
    language sql volatile
    as $$ select pg_advisory_xact_lock(public.fn_projects_import_lock_key(p_tenant_id)) $$;

select public.fn_privileges_set(
    'function public.fn_projects_import_lock(text)',
    'execute', 'service_role');
