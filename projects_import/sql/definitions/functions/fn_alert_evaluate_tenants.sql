-- fn_alert_evaluate_tenants — alert evaluation step: the figures of every tenant with
-- something in the window (p_since, p_now]: its occurrences of open problems (errors among
-- them, by type and by severity), its overdue problems, open and new problems, the problems
-- and batches concerned, its unresolved DS/RM problems of the last 24 hours; and whether it
-- alerts, with the reasons (occurrences, errors, overdue) against the tenant's thresholds or
-- p_min_occurrences when given.
create or replace function public.fn_alert_evaluate_tenants(
    p_since timestamptz, p_now timestamptz, p_min_occurrences integer)
    returns table (
        tenant_id text, occurrences integer, errors integer, overdue integer,
        open_problems integer, new_problems integer, by_type jsonb, by_severity jsonb,
        problem_ids bigint[], batch_ids uuid[], ds_rm_ids bigint[], alerting boolean,
        reasons text[])
    language plpgsql
    set search_path = public, pg_temp
    as $$
#variable_conflict use_column
begin
    return query
    with occ as (
        select a.tenant_id, a.problem_id, a.batch_id, a.anomaly_type, a.severity
          from public.import_anomalies a
          join public.import_problems p on p.tenant_id = a.tenant_id and p.id = a.problem_id
         where a.created_at > p_since and a.created_at <= p_now
           and p.status = 'open'
    ), late as (
        select p.tenant_id, p.id, p.last_batch_id
          from public.import_problems p
         where p.status <> 'resolved'
           and ((p.status = 'open' and p.ack_due_at <= p_now) or p.resolve_due_at <= p_now)
    ), dsrm as (
        select p.tenant_id, p.id
          from public.import_problems p
         where p.status <> 'resolved'
           and p.anomaly_type in ('UNKNOWN_DS', 'UNKNOWN_RM')
           and p.last_seen_at > p_now - interval '24 hours'
    ), seen as (
        select o.tenant_id from occ o
        union select l.tenant_id from late l
        union select d.tenant_id from dsrm d
    ), figures as (
        select s.tenant_id, t.alert_min_occurrences, t.alert_min_errors,
               (select count(*) from occ o where o.tenant_id = s.tenant_id)::integer as occ_n,
               (select count(*) from occ o where o.tenant_id = s.tenant_id
                                             and o.severity = 'error')::integer as err_n,
               (select count(*) from late l where l.tenant_id = s.tenant_id)::integer as late_n,
               (select count(*) from public.import_problems p
                 where p.tenant_id = s.tenant_id and p.status = 'open')::integer as open_n,
               (select count(*) from public.import_problems p
                 where p.tenant_id = s.tenant_id and p.status <> 'resolved'
                   and p.first_seen_at > p_since)::integer as new_n,
               coalesce((select jsonb_object_agg(x.anomaly_type, x.n)
                           from (select o.anomaly_type, count(*) as n from occ o
                                  where o.tenant_id = s.tenant_id group by 1) x), '{}')
                   as by_type,
               coalesce((select jsonb_object_agg(x.severity, x.n)
                           from (select o.severity, count(*) as n from occ o
                                  where o.tenant_id = s.tenant_id group by 1) x), '{}')
                   as by_severity,
               array(select u.id from (select o.problem_id as id from occ o
                                        where o.tenant_id = s.tenant_id
                                       union
                                       select l.id from late l
                                        where l.tenant_id = s.tenant_id) u
                      order by 1) as problem_ids,
               array(select u.id from (select o.batch_id as id from occ o
                                        where o.tenant_id = s.tenant_id
                                       union
                                       select l.last_batch_id from late l
                                        where l.tenant_id = s.tenant_id) u
                      where u.id is not null order by 1) as batch_ids,
               array(select d.id from dsrm d where d.tenant_id = s.tenant_id order by 1)
                   as ds_rm_ids
          from seen s
          join public.tenants t on t.tenant_id = s.tenant_id
    )
    select f.tenant_id, f.occ_n, f.err_n, f.late_n, f.open_n, f.new_n, f.by_type,
           f.by_severity, f.problem_ids, f.batch_ids, f.ds_rm_ids,
           cardinality(r.reasons) > 0, r.reasons
      from figures f
     cross join lateral (
        select array_remove(array[
            case when f.occ_n >= coalesce(p_min_occurrences, f.alert_min_occurrences)
                 then 'occurrences' end,
            case when p_min_occurrences is null and f.err_n >= f.alert_min_errors
                 then 'errors' end,
            case when f.late_n > 0 then 'overdue' end], null) as reasons
     ) r;
end
$$;

select public.fn_privileges_set(
    'function public.fn_alert_evaluate_tenants(timestamptz, timestamptz, integer)',
    'execute', 'service_role');
