-- fn_import_batch_state(tenant, staging) — a staged batch's state (null when none), for the
-- import history under the caller's rights. SECURITY DEFINER: answers the state only.
create or replace function public.fn_import_batch_state(p_tenant_id text, p_staging_id uuid)
    returns text
    language sql stable security definer
    set search_path = public, pg_temp
    as $$
    select s.batch_state from staging_imports s
     where s.tenant_id = p_tenant_id and s.id = p_staging_id
$$;

select public.fn_privileges_set(
    'function public.fn_import_batch_state(text, uuid)',
    'execute', 'authenticated', 'service_role');
