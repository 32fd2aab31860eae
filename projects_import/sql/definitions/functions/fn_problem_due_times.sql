-- fn_problem_due_times — the runbook's clocks for a problem seen (or reopened) at p_from:
-- acknowledge within 4 business hours, resolve within 1 business day (the length of the
-- tenant's business day, 8 hours by default).
create or replace function public.fn_problem_due_times(p_tenant_id text, p_from timestamptz)
    returns table (ack_due_at timestamptz, resolve_due_at timestamptz)
    language sql stable
    set search_path = public, pg_temp
    as $$
    select public.fn_business_time_add(p_from, 4, t.timezone, t.business_hours_start,
                                       t.business_hours_end, t.business_days),
           public.fn_business_time_add(
               p_from,
               extract(epoch from t.business_hours_end - t.business_hours_start) / 3600,
               t.timezone, t.business_hours_start, t.business_hours_end, t.business_days)
      from public.tenants t
     where t.tenant_id = p_tenant_id
    $$;

select public.fn_privileges_set(
    'function public.fn_problem_due_times(text, timestamp with time zone)',
    'execute', 'authenticated', 'service_role');
