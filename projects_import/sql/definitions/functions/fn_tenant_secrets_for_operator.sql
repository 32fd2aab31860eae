-- fn_tenant_secrets_for_operator(): per tenant, how many bearer secrets are valid, how many of
-- them expire (a rotation's grace period), the next expiry and the last rotation. Operators do
-- not read tenant_secrets (digests); SECURITY DEFINER answers these figures only.
create or replace function public.fn_tenant_secrets_for_operator()
    returns table (tenant_id text, valid_secrets integer, expiring_secrets integer,
                   next_expiry_at timestamptz, last_rotated_at timestamptz)
    language plpgsql stable security definer
    set search_path = public, pg_temp
    as $$
#variable_conflict use_column
begin
    perform public.fn_require_operator();
    return query
        select t.tenant_id,
               (count(s.secret_id)
                    filter (where s.expires_at is null or s.expires_at > now()))::integer,
               (count(s.secret_id) filter (where s.expires_at > now()))::integer,
               min(s.expires_at) filter (where s.expires_at > now()),
               max(s.created_at)
          from public.tenants t
          left join public.tenant_secrets s on s.tenant_id = t.tenant_id
         group by t.tenant_id
         order by t.tenant_id;
end
$$;

select public.fn_privileges_set(
    'function public.fn_tenant_secrets_for_operator()',
    'execute', 'authenticated', 'service_role');
