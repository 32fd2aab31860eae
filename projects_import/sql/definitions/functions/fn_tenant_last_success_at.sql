-- fn_tenant_last_success_at(tenant) — when the tenant's last import succeeded (a request
-- answered 200, or a staged batch); null for a user role that is not an operator.
create or replace function public.fn_tenant_last_success_at(p_tenant_id text)
    returns timestamptz
    language sql stable security definer
    set search_path = public, pg_temp
    as $$
    select greatest(
        (select max(r.created_at) from public.import_requests r
          where r.tenant_id = p_tenant_id and r.status = 200),
        (select max(s.created_at) from public.staging_imports s
          where s.tenant_id = p_tenant_id))
     where session_user = current_user or public.fn_is_operator()
    $$;

select public.fn_privileges_set(
    'function public.fn_tenant_last_success_at(text)',
    'execute', 'authenticated', 'service_role');
