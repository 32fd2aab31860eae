-- fn_anomalies_stats — as in 0005: occurrences of the window by tenant, type and severity,
-- summed from import_anomaly_rollups (exact: its rows are keyed by the occurrences' created_at).
create or replace function public.fn_anomalies_stats(p_window_hours integer default 24)
returns table (tenant_id text, anomaly_type text, severity text, count bigint,
               unresolved bigint, last_seen_at timestamptz)
language plpgsql
stable
set search_path = public, pg_temp
as $$
#variable_conflict use_column
begin
    perform public.fn_require_operator();
    perform public.fn_anomalies_check_window(p_window_hours);
    return query
        select r.tenant_id, r.anomaly_type, r.severity, sum(r.occurrences)::bigint,
               sum(r.unresolved)::bigint, max(r.created_at)
          from public.import_anomaly_rollups r
         where r.created_at >= now() - make_interval(hours => p_window_hours)
         group by 1, 2, 3
        having sum(r.occurrences) > 0
         order by 1, 2, 3;
end
$$;

select public.fn_privileges_set(
    'function public.fn_anomalies_stats(integer)',
    'execute', 'authenticated', 'service_role');
