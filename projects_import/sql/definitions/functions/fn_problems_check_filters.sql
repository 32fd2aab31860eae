-- Refuses filter values outside the vocabulary, naming the first bad one (22023).
create or replace function public.fn_problems_check_filters(
    p_anomaly_type text[], p_status text[], p_severity text[], p_limit integer)
    returns void
    language plpgsql immutable
    as $$
declare
    v_bad text;
begin
    select x into v_bad from unnest(p_anomaly_type) x
     where x is null or x not in ('UNKNOWN_DELIVERY_PARTNER', 'UNKNOWN_DS', 'UNKNOWN_RM')
     limit 1;
    if found then
        raise exception 'unknown anomaly_type %', coalesce(v_bad, 'null')
            using errcode = 'invalid_parameter_value';
    end if;
    select x into v_bad from unnest(p_status) x
     where x is null or x not in ('open', 'acknowledged', 'resolved') limit 1;
    if found then
        raise exception 'unknown status %', coalesce(v_bad, 'null')
            using errcode = 'invalid_parameter_value';
    end if;
    select x into v_bad from unnest(p_severity) x
     where x is null or x not in ('error', 'warning', 'info') limit 1;
    if found then
        raise exception 'unknown severity %', coalesce(v_bad, 'null')
            using errcode = 'invalid_parameter_value';
    end if;
    if p_limit is not null and p_limit < 1 then
        raise exception 'p_limit must be at least 1 (or null for no limit), got %', p_limit
            using errcode = 'invalid_parameter_value';
    end if;
end
$$;

select public.fn_privileges_set(
    'function public.fn_problems_check_filters(text[], text[], text[], integer)',
    'execute', 'authenticated', 'service_role');
