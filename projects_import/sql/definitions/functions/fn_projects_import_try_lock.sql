-- fn_projects_import_try_lock(tenant) — the tenant's import lock if it is free (true), else
-- false at once: the service answers a busy tenant instead of waiting.
create or replace function public.fn_projects_import_try_lock(p_tenant_id text) returns boolean
    language sql volatile
    as $$ select pg_try_advisory_xact_lock(public.fn_projects_import_lock_key(p_tenant_id)) $$;

select public.fn_privileges_set(
    'function public.fn_projects_import_try_lock(text)',
    'execute', 'service_role');
