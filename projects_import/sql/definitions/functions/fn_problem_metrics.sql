-- fn_problem_metrics — /metrics: unresolved problems by tenant, type and severity: open,
-- acknowledged, and past an SLA clock (open past ack_due_at, or past resolve_due_at).
create or replace function public.fn_problem_metrics()
returns table (tenant_id text, anomaly_type text, severity text, open integer,
               acknowledged integer, overdue integer)
language sql
stable
set search_path = public, pg_temp
as $$
    with r as (
        select r.tenant_id, r.anomaly_type, r.severity,
               sum(r.problems) filter (where r.clock = 'first_seen' and r.status = 'open') as o,
               sum(r.problems) filter (where r.clock = 'first_seen'
                                         and r.status = 'acknowledged') as a,
               sum(r.problems) filter (where r.clock = 'overdue'
                                         and r.hour < date_bin('1 hour', now(),
                                                               timestamptz '2000-01-01Z')) as d
          from public.import_problem_rollups r
         group by 1, 2, 3
    ), edge as (
        select pr.tenant_id, pr.anomaly_type, pr.severity, count(*) as d
          from public.import_problems pr
         where pr.status <> 'resolved'
           and least(case when pr.status = 'open' then pr.ack_due_at end, pr.resolve_due_at)
               >= date_bin('1 hour', now(), timestamptz '2000-01-01Z')
           and least(case when pr.status = 'open' then pr.ack_due_at end, pr.resolve_due_at)
               <= now()
         group by 1, 2, 3
    )
    select r.tenant_id, r.anomaly_type, r.severity, coalesce(r.o, 0)::integer,
           coalesce(r.a, 0)::integer, (coalesce(r.d, 0) + coalesce(e.d, 0))::integer
      from r
      left join edge e on e.tenant_id = r.tenant_id and e.anomaly_type = r.anomaly_type
                      and e.severity = r.severity
     where coalesce(r.o, 0) + coalesce(r.a, 0) > 0
$$;

select public.fn_privileges_set(
    'function public.fn_problem_metrics()',
    'execute', 'service_role');
