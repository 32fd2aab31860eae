-- Refuses a window that is not a positive number of hours.
create or replace function public.fn_anomalies_check_window(p_window_hours integer) returns void
    language plpgsql immutable
    as $$
begin
    if p_window_hours is null or p_window_hours < 1 then
        raise exception 'p_window_hours must be a positive number of hours, got %',
            coalesce(p_window_hours::text, 'null')
            using errcode = 'invalid_parameter_value';
    end if;
end
$$;

select public.fn_privileges_set(
    'function public.fn_anomalies_check_window(integer)',
    'execute', 'authenticated', 'service_role');
