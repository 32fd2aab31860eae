-- vw_tenant_freshness — per tenant: the last success, when today's batch was expected, and
-- `late`: now is past expected_at + schedule_grace_minutes, nothing succeeded since
-- expected_at, and the tenant already existed at expected_at. A paused tenant can still be
-- late; paused/paused_reason/paused_at say why (alerting skips paused tenants if it wants).
create or replace view public.vw_tenant_freshness with (security_invoker = true) as
    select t.tenant_id, t.timezone, s.last_success_at, e.expected_at,
           coalesce(now() > e.expected_at + make_interval(mins => t.schedule_grace_minutes)
                    and (s.last_success_at is null or s.last_success_at < e.expected_at)
                    and t.created_at < e.expected_at, false) as late,
           t.paused_at is not null as paused, t.paused_reason, t.paused_at
      from public.tenants t
     cross join lateral (select public.fn_tenant_last_success_at(t.tenant_id)
                                as last_success_at) s
     cross join lateral (select public.fn_tenant_expected_at(now(), t.timezone,
                                                             t.schedule_time, t.business_days)
                                as expected_at) e;

select public.fn_privileges_set(
    'table public.vw_tenant_freshness',
    'select', 'authenticated', 'service_role');
