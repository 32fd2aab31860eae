-- fn_business_time_add (per tenant) — the same in the tenant's zone and business calendar.
create or replace function public.fn_business_time_add(
    p_from       timestamptz,
    p_hours      numeric,
    p_tenant_id  text
) returns timestamptz
    language sql stable
    set search_path = public, pg_temp
    as $$
    select public.fn_business_time_add(p_from, p_hours, t.timezone, t.business_hours_start,
                                       t.business_hours_end, t.business_days)
      from public.tenants t
     where t.tenant_id = p_tenant_id
    $$;

select public.fn_privileges_set(
    'function public.fn_business_time_add(timestamp with time zone, numeric, text)',
    'execute', 'authenticated', 'service_role');

-- fn_business_time_add (pure) — p_from plus p_hours of business time, counted on the wall
-- clock of zone p_tz within [p_start, p_end) on ISO days p_days (1 = Monday). A start outside
-- business hours counts from the next opening. DST days count their wall-clock hours
-- (09:00–17:00 is 8 hours every day). 22023 for a bad calendar or negative hours.
create or replace function public.fn_business_time_add(
    p_from   timestamptz,
    p_hours  numeric,
    p_tz     text,
    p_start  time,
    p_end    time,
    p_days   integer[]
) returns timestamptz
    language plpgsql stable
    set search_path = public, pg_temp
    as $$
declare
    v_local      timestamp;
    v_left       interval;
    v_day        date;
    v_open       timestamp;
    v_close      timestamp;
    v_available  interval;
    v_steps      integer := 0;
begin
    if p_from is null or p_hours is null then
        return null;
    end if;
    if p_hours < 0 or p_start is null or p_end is null or p_start >= p_end
       or p_days is null or cardinality(p_days) = 0
       or not p_days <@ '{1,2,3,4,5,6,7}'::integer[] then
        raise exception 'fn_business_time_add: needs hours >= 0, start < end and ISO days 1..7'
            using errcode = 'invalid_parameter_value';
    end if;
    v_local := p_from at time zone p_tz;
    v_left := make_interval(secs => p_hours * 3600);
    loop
        v_day := v_local::date;
        if extract(isodow from v_day)::integer = any (p_days) then
            v_open := v_day + p_start;
            v_close := v_day + p_end;
            if v_local < v_open then
                v_local := v_open;
            end if;
            if v_local < v_close then
                v_available := v_close - v_local;
                if v_left <= v_available then
                    return (v_local + v_left) at time zone p_tz;
                end if;
                v_left := v_left - v_available;
            end if;
        end if;
        v_local := (v_day + 1)::timestamp;
        v_steps := v_steps + 1;
        if v_steps > 3700 then     -- ten years of calendar: a misuse, not a real SLA
            raise exception 'fn_business_time_add: % hours is too far ahead', p_hours
                using errcode = 'invalid_parameter_value';
        end if;
    end loop;
end
$$;

select public.fn_privileges_set(
    'function public.fn_business_time_add(timestamp with time zone, numeric, text, '
    'time without time zone, time without time zone, integer[])',
    'execute', 'authenticated', 'service_role');
