-- 0029 — Tenants for operators (GET /tenants/status, /dashboard/tenants): freshness under the
-- caller's claims, when bearer secrets expire (never the secrets or their digests), and pause /
-- resume from the browser for admins. Builds on 0012's vw_tenant_freshness, tenant_events and
-- fn_tenant_pause / fn_tenant_resume (service role only), which this wraps with an admin check.

-- The admin check is 0024's fn_require_admin (service_role counts as admin since 0025).

-- fn_tenants_status_for_operator(): vw_tenant_freshness for operators and admins, with who
-- paused. Runs with the caller's rights; a non-operator gets 42501, not an empty answer.
create function public.fn_tenants_status_for_operator()
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

-- fn_tenant_secrets_for_operator(): per tenant, how many bearer secrets are valid, how many of
-- them expire (a rotation's grace period), the next expiry and the last rotation. Operators do
-- not read tenant_secrets (digests); SECURITY DEFINER answers these figures only.
create function public.fn_tenant_secrets_for_operator()
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

-- fn_tenant_set_paused(tenant, paused, reason): pause (with a reason) or resume a tenant as
-- the calling admin; the JWT's `sub` is recorded as the actor in tenants.paused_by and
-- tenant_events. Errors: 42501 not an admin, 22023 a pause without a reason, P0002 no tenant.
create function public.fn_tenant_set_paused(
    p_tenant_id text, p_paused boolean, p_reason text default null)
    returns jsonb
    language plpgsql volatile security definer
    set search_path = public, pg_temp
    as $$
declare
    v_actor text := coalesce(nullif(btrim(auth.jwt() ->> 'sub'), ''), 'unknown');
begin
    perform fn_require_admin();
    if p_paused is null then
        raise exception 'p_paused must be true or false' using errcode = 'invalid_parameter_value';
    end if;
    if p_paused then
        return fn_tenant_pause(p_tenant_id, p_reason, v_actor);
    end if;
    return fn_tenant_resume(p_tenant_id, v_actor);
end
$$;

revoke execute on function
    public.fn_is_admin(),
    public.fn_require_admin(),
    public.fn_tenants_status_for_operator(),
    public.fn_tenant_secrets_for_operator(),
    public.fn_tenant_set_paused(text, boolean, text)
  from public;

do $$
begin
    revoke execute on function
        public.fn_tenants_status_for_operator(),
        public.fn_tenant_secrets_for_operator(),
        public.fn_tenant_set_paused(text, boolean, text)
      from anon;
    grant execute on function
        public.fn_is_admin(),
        public.fn_require_admin(),
        public.fn_tenants_status_for_operator(),
        public.fn_tenant_secrets_for_operator(),
        public.fn_tenant_set_paused(text, boolean, text)
      to authenticated, service_role;
exception
    when undefined_object or insufficient_privilege then null;
end
$$;
