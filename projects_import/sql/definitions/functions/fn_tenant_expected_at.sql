-- fn_tenant_expected_at — the latest scheduled import time at or before p_now: p_schedule on
-- the wall clock of p_tz, on the ISO days p_days (the tenant's business days), looking back
-- at most a week.
create or replace function public.fn_tenant_expected_at(
    p_now       timestamptz,
    p_tz        text,
    p_schedule  time,
    p_days      integer[]
) returns timestamptz
    language sql stable
    as $$
    select max((d::date + p_schedule) at time zone p_tz)
      from generate_series(((p_now at time zone p_tz)::date - 7)::timestamp,
                           ((p_now at time zone p_tz)::date)::timestamp,
                           interval '1 day') as d
     where extract(isodow from d)::integer = any (p_days)
       and ((d::date + p_schedule) at time zone p_tz) <= p_now
    $$;

select public.fn_privileges_set(
    'function public.fn_tenant_expected_at(timestamp with time zone, text, '
    'time without time zone, integer[])',
    'execute', 'authenticated', 'service_role');
