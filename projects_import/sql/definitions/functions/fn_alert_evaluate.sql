-- fn_alert_evaluate — see the header. Set-based over the window's occurrences; the per-tenant
-- subqueries run once per tenant that has anything in the window.
create or replace function public.fn_alert_evaluate(
    p_window_hours      integer,
    p_min_occurrences   integer default null,
    p_suppress_hours    numeric default 4,
    p_escalate_windows  integer default 3,
    p_escalate_ds_rm    integer default 10,
    p_alert_target      text default '',
    p_escalation_target text default '',
    p_now               timestamptz default now()
) returns table (
    tenant_id               text,
    window_start            timestamptz,
    window_end              timestamptz,
    occurrences             integer,
    errors                  integer,
    overdue                 integer,
    open_problems           integer,
    new_problems            integer,
    by_type                 jsonb,
    by_severity             jsonb,
    problem_ids             bigint[],
    batch_ids               uuid[],
    alerting                boolean,
    reasons                 text[],
    consecutive_windows     integer,
    ds_rm_problems_24h      integer,
    escalate                boolean,
    escalation_reasons      text[],
    escalation_problem_ids  bigint[],
    alert_fingerprint       text,
    escalation_fingerprint  text,
    alert_suppressed        boolean,
    escalation_suppressed   boolean,
    alert_pending_id        bigint,
    escalation_pending_id   bigint
)
    language plpgsql
    set search_path = public, pg_temp
    as $$
#variable_conflict use_column
declare
    v_length  interval;
    v_since   timestamptz;
    v_slot    timestamptz;
begin
    if p_window_hours is null or p_window_hours < 1 or p_window_hours > 8760 then
        raise exception 'fn_alert_evaluate: the window must be 1..8760 hours'
            using errcode = '22023';
    end if;
    if p_min_occurrences < 1 or p_suppress_hours < 0 or p_escalate_windows < 1
       or p_escalate_ds_rm < 0 then
        raise exception 'fn_alert_evaluate: thresholds must be positive, suppression 0 or more'
            using errcode = '22023';
    end if;
    v_length := make_interval(hours => p_window_hours);
    v_since := p_now - v_length;
    v_slot := date_bin(v_length, p_now, timestamptz '2000-01-01 00:00:00+00');

    create temp table if not exists pg_temp.alert_evaluation (
        tenant_id text, occurrences integer, errors integer, overdue integer,
        open_problems integer, new_problems integer, by_type jsonb, by_severity jsonb,
        problem_ids bigint[], batch_ids uuid[], ds_rm_ids bigint[], alerting boolean,
        reasons text[]
    ) on commit drop;
    truncate pg_temp.alert_evaluation;

    insert into pg_temp.alert_evaluation
    with occ as (
        select a.tenant_id, a.problem_id, a.batch_id, a.anomaly_type, a.severity
          from public.import_anomalies a
          join public.import_problems p on p.tenant_id = a.tenant_id and p.id = a.problem_id
         where a.created_at > v_since and a.created_at <= p_now
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
                   and p.first_seen_at > v_since)::integer as new_n,
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

    insert into public.alert_windows as w
           (tenant_id, window_slot, window_hours, occurrences, errors, overdue)
    select e.tenant_id, v_slot, p_window_hours, e.occurrences, e.errors, e.overdue
      from pg_temp.alert_evaluation e
     where e.alerting
    on conflict (tenant_id, window_slot) do update
       set occurrences = greatest(w.occurrences, excluded.occurrences),
           errors = greatest(w.errors, excluded.errors),
           overdue = greatest(w.overdue, excluded.overdue),
           evaluated_at = now();
    -- alert_windows only answers "the last few slots": a week is plenty
    delete from public.alert_windows w where w.window_slot < p_now - interval '7 days';

    return query
    with judged as (
        select e.*,
               case when not e.alerting then 0 else
                   (select coalesce(min(g.k), 48)
                      from generate_series(0, 47) g(k)
                     where not exists (select 1 from public.alert_windows w
                                        where w.tenant_id = e.tenant_id
                                          and w.window_slot = v_slot - g.k * v_length))
               end as consecutive,
               array(select u.id from (select unnest(e.problem_ids) as id
                                       union select unnest(e.ds_rm_ids)) u order by 1)
                   as esc_ids
          from pg_temp.alert_evaluation e
    ), escalation as (
        select j.*,
               array_remove(array[
                   case when j.consecutive >= p_escalate_windows
                        then 'consecutive_windows' end,
                   case when cardinality(j.ds_rm_ids) > p_escalate_ds_rm
                        then 'ds_rm_problems_24h' end], null) as esc_reasons,
               encode(sha256(convert_to(
                   concat_ws(':', 'alert', coalesce(p_alert_target, ''),
                             array_to_string(j.problem_ids, ',')), 'UTF8')), 'hex') as alert_fp,
               encode(sha256(convert_to(
                   concat_ws(':', 'escalation', coalesce(p_escalation_target, ''),
                             array_to_string(j.esc_ids, ',')), 'UTF8')), 'hex') as esc_fp
          from judged j
    )
    select x.tenant_id, v_since, p_now, x.occurrences, x.errors, x.overdue, x.open_problems,
           x.new_problems, x.by_type, x.by_severity, x.problem_ids, x.batch_ids, x.alerting,
           x.reasons, x.consecutive, cardinality(x.ds_rm_ids), cardinality(x.esc_reasons) > 0,
           x.esc_reasons, x.esc_ids, x.alert_fp, x.esc_fp,
           exists (select 1 from public.alert_deliveries d
                    where d.tenant_id = x.tenant_id and d.kind = 'alert'
                      and d.fingerprint = x.alert_fp and d.status = 'delivered'
                      and d.delivered_at > p_now - make_interval(secs => p_suppress_hours * 3600)),
           exists (select 1 from public.alert_deliveries d
                    where d.tenant_id = x.tenant_id and d.kind = 'escalation'
                      and d.fingerprint = x.esc_fp and d.status = 'delivered'
                      and d.delivered_at > p_now - make_interval(secs => p_suppress_hours * 3600)),
           (select max(d.id) from public.alert_deliveries d
             where d.tenant_id = x.tenant_id and d.kind = 'alert'
               and d.fingerprint = x.alert_fp and d.status in ('pending', 'retrying')),
           (select max(d.id) from public.alert_deliveries d
             where d.tenant_id = x.tenant_id and d.kind = 'escalation'
               and d.fingerprint = x.esc_fp and d.status in ('pending', 'retrying'))
      from escalation x
     order by x.tenant_id;
end
$$;

select public.fn_privileges_set('function public.fn_alert_evaluate(integer, integer, numeric, integer, integer, text, text, timestamp with time zone)', 'execute',
                                'service_role');
