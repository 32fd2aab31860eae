-- fn_problem_stats — per tenant, anomaly type and severity over the last p_window_hours. Open
-- problems and new occurrences are counted apart; a resolved problem is never counted.
create or replace function public.fn_problem_stats(p_window_hours integer default 24)
    returns table (tenant_id text, anomaly_type text, severity text,
                   open_problems bigint, acknowledged_problems bigint, new_problems bigint,
                   occurrences bigint, overdue_ack bigint, overdue_resolve bigint)
    language plpgsql stable
    as $$
#variable_conflict use_column
declare
    v_since timestamptz;
begin
    perform public.fn_require_operator();
    perform public.fn_anomalies_check_window(p_window_hours);
    v_since := now() - make_interval(hours => p_window_hours);
    return query
        with p as (
            select pr.tenant_id, pr.anomaly_type, pr.severity,
                   count(*) filter (where pr.status = 'open') as open_problems,
                   count(*) filter (where pr.status = 'acknowledged') as acknowledged_problems,
                   count(*) filter (where pr.first_seen_at >= v_since) as new_problems,
                   count(*) filter (where pr.status = 'open' and pr.ack_due_at < now())
                       as overdue_ack,
                   count(*) filter (where pr.resolve_due_at < now()) as overdue_resolve
              from public.import_problems pr
             where pr.status <> 'resolved'
             group by pr.tenant_id, pr.anomaly_type, pr.severity
        ), o as (
            select a.tenant_id, a.anomaly_type, a.severity, count(*) as occurrences
              from public.import_anomalies a
             where a.created_at >= v_since
             group by a.tenant_id, a.anomaly_type, a.severity
        )
        select coalesce(p.tenant_id, o.tenant_id), coalesce(p.anomaly_type, o.anomaly_type),
               coalesce(p.severity, o.severity),
               coalesce(p.open_problems, 0)::bigint,
               coalesce(p.acknowledged_problems, 0)::bigint,
               coalesce(p.new_problems, 0)::bigint,
               coalesce(o.occurrences, 0)::bigint,
               coalesce(p.overdue_ack, 0)::bigint,
               coalesce(p.overdue_resolve, 0)::bigint
          from p
          full join o on o.tenant_id = p.tenant_id and o.anomaly_type = p.anomaly_type
                     and o.severity = p.severity
         order by 1, 2, 3;
end
$$;

select public.fn_privileges_set(
    'function public.fn_problem_stats(integer)',
    'execute', 'authenticated', 'service_role');
