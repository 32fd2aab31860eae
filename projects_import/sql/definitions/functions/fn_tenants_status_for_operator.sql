-- fn_tenants_status_for_operator(): vw_tenant_freshness for operators and admins, with who
-- paused. Runs with the caller's rights; a non-operator gets 42501, not an empty answer.
create or replace function public.fn_tenants_status_for_operator()
    returns table (tenant_id text, timezone text, last_success_at timestamptz,
                   expected_at timestamptz, late boolean, paused boolean, paused_reason text,
                   paused_at timestamptz, paused_by text)
    language plpgsql stable
    as $$
#variable_conflict use_column
begin
    perform public.fn_require_operator();
    return query
        select f.tenant_id, f.timezone, f.last_success_at, f.expected_at, f.late, f.paused,
               f.paused_reason, f.paused_at, t.paused_by
          from public.vw_tenant_freshness f
          join public.tenants t using (tenant_id)
         order by f.tenant_id;
end
$$;

select public.fn_privileges_set(
    'function public.fn_tenants_status_for_operator()',
    'execute', 'authenticated', 'service_role');
