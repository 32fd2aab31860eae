-- fn_tenant_audits_for_operator() — per tenant: its audit limits and held batches (count,
-- oldest). SECURITY DEFINER: operators do not read staging_imports; checks the claims first.
create or replace function public.fn_tenant_audits_for_operator()
    returns table (tenant_id text, audit jsonb, held_batches integer,
                   oldest_held_at timestamptz)
    language plpgsql stable security definer
    set search_path = public, pg_temp
    as $$
#variable_conflict use_column
begin
    perform fn_require_operator();
    return query
        select t.tenant_id, fn_import_audit_limits(t.tenant_id),
               (select count(*)::integer from staging_imports s
                 where s.tenant_id = t.tenant_id and s.batch_state = 'held'),
               (select min(s.created_at) from staging_imports s
                 where s.tenant_id = t.tenant_id and s.batch_state = 'held')
          from tenants t
         order by t.tenant_id;
end
$$;

select public.fn_privileges_set(
    'function public.fn_tenant_audits_for_operator()',
    'execute', 'authenticated', 'service_role');
