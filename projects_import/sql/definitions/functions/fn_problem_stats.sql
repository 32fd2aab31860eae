-- fn_problem_stats — as in 0012, from the rollups: open and acknowledged problems, new ones
-- (first seen in the window), the window's occurrences, overdue clocks; each clock's edge hour
-- counted from the partial indexes on import_problems.
create or replace function public.fn_problem_stats(p_window_hours integer default 24)
returns table (tenant_id text, anomaly_type text, severity text, open_problems bigint,
               acknowledged_problems bigint, new_problems bigint, occurrences bigint,
               overdue_ack bigint, overdue_resolve bigint)
language plpgsql
stable
set search_path = public, pg_temp
as $$
#variable_conflict use_column
declare
    v_since timestamptz;
    v_edge  timestamptz;
    v_now   timestamptz := now();
    v_hour  timestamptz;
begin
    perform public.fn_require_operator();
    perform public.fn_anomalies_check_window(p_window_hours);
    v_since := v_now - make_interval(hours => p_window_hours);
    v_edge := date_bin('1 hour', v_since, timestamptz '2000-01-01Z');
    v_hour := date_bin('1 hour', v_now, timestamptz '2000-01-01Z');
    return query
        with r as (
            select r.tenant_id, r.anomaly_type, r.severity,
                   sum(r.problems) filter (where r.clock = 'first_seen' and r.status = 'open')
                       as open_problems,
                   sum(r.problems) filter (where r.clock = 'first_seen'
                                             and r.status = 'acknowledged')
                       as acknowledged_problems,
                   sum(r.problems) filter (where r.clock = 'first_seen' and r.hour > v_edge)
                       as new_problems,
                   sum(r.problems) filter (where r.clock = 'ack_due' and r.hour < v_hour)
                       as overdue_ack,
                   sum(r.problems) filter (where r.clock = 'resolve_due' and r.hour < v_hour)
                       as overdue_resolve
              from public.import_problem_rollups r
             group by 1, 2, 3
        ), edge as (
            select pr.tenant_id, pr.anomaly_type, pr.severity, count(*) as new_problems,
                   0::bigint as overdue_ack, 0::bigint as overdue_resolve
              from public.import_problems pr
             where pr.status <> 'resolved' and pr.first_seen_at >= v_since
               and pr.first_seen_at < v_edge + interval '1 hour'
             group by 1, 2, 3
            union all
            select pr.tenant_id, pr.anomaly_type, pr.severity, 0, count(*), 0
              from public.import_problems pr
             where pr.status = 'open' and pr.ack_due_at >= v_hour and pr.ack_due_at < v_now
             group by 1, 2, 3
            union all
            select pr.tenant_id, pr.anomaly_type, pr.severity, 0, 0, count(*)
              from public.import_problems pr
             where pr.status <> 'resolved' and pr.resolve_due_at >= v_hour
               and pr.resolve_due_at < v_now
             group by 1, 2, 3
        ), p as (
            select r.tenant_id, r.anomaly_type, r.severity,
                   coalesce(r.open_problems, 0) as open_problems,
                   coalesce(r.acknowledged_problems, 0) as acknowledged_problems,
                   coalesce(r.new_problems, 0)
                       + coalesce((select sum(e.new_problems) from edge e
                                    where e.tenant_id = r.tenant_id
                                      and e.anomaly_type = r.anomaly_type
                                      and e.severity = r.severity), 0) as new_problems,
                   coalesce(r.overdue_ack, 0)
                       + coalesce((select sum(e.overdue_ack) from edge e
                                    where e.tenant_id = r.tenant_id
                                      and e.anomaly_type = r.anomaly_type
                                      and e.severity = r.severity), 0) as overdue_ack,
                   coalesce(r.overdue_resolve, 0)
                       + coalesce((select sum(e.overdue_resolve) from edge e
                                    where e.tenant_id = r.tenant_id
                                      and e.anomaly_type = r.anomaly_type
                                      and e.severity = r.severity), 0) as overdue_resolve
              from r
             where coalesce(r.open_problems, 0) + coalesce(r.acknowledged_problems, 0) > 0
        ), o as (
            select ar.tenant_id, ar.anomaly_type, ar.severity,
                   sum(ar.occurrences) as occurrences
              from public.import_anomaly_rollups ar
             where ar.created_at >= v_since
             group by 1, 2, 3
            having sum(ar.occurrences) > 0
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
