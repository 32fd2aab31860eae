-- fn_anomalies_stats(window): counts by tenant, anomaly_type and severity over the last
-- p_window_hours, with how many are not resolved yet and when the latest was recorded.
create or replace function public.fn_anomalies_stats(p_window_hours integer default 24)
    returns table (tenant_id text, anomaly_type text, severity text, count bigint,
                   unresolved bigint, last_seen_at timestamptz)
    language plpgsql stable
    as $$
#variable_conflict use_column
begin
    perform public.fn_require_operator();
    perform public.fn_anomalies_check_window(p_window_hours);
    return query
        select a.tenant_id, a.anomaly_type, a.severity,
               count(*)::bigint,
               (count(*) filter (where a.status <> 'resolved'))::bigint,
               max(a.created_at)
          from public.import_anomalies a
         where a.created_at >= now() - make_interval(hours => p_window_hours)
         group by a.tenant_id, a.anomaly_type, a.severity
         order by a.tenant_id, a.anomaly_type, a.severity;
end
$$;

select public.fn_privileges_set(
    'function public.fn_anomalies_stats(integer)',
    'execute', 'authenticated', 'service_role');
