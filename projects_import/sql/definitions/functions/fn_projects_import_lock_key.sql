-- Concurrency is one import per tenant, across every replica: a transaction-scoped advisory
-- lock keyed by a 64-bit hash of the tenant (a 32-bit one lets two tenants block each other).
create or replace function public.fn_projects_import_lock_key(p_tenant_id text) returns bigint
    language sql immutable parallel safe
    as $$ select hashtextextended('projects-import:' || p_tenant_id, 7301) $$;

select public.fn_privileges_set(
    'function public.fn_projects_import_lock_key(text)',
    'execute', 'service_role');
