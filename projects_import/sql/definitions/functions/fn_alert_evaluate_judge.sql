-- fn_alert_evaluate_judge — alert evaluation step: for each evaluated tenant, how many
-- consecutive window slots it has alerted in, whether it escalates (consecutive windows, too
-- many DS/RM problems) and for which problems, the fingerprints of its alert and escalation
-- (target and problems), whether an identical one was delivered within p_suppress_hours, and
-- the delivery of each still pending.
create or replace function public.fn_alert_evaluate_judge(
    p_since timestamptz, p_now timestamptz, p_length interval, p_slot timestamptz,
    p_suppress_hours numeric, p_escalate_windows integer, p_escalate_ds_rm integer,
    p_alert_target text, p_escalation_target text)
    returns table (
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
begin
    return query
    with judged as (
        select e.*,
               case when not e.alerting then 0 else
                   (select coalesce(min(g.k), 48)
                      from generate_series(0, 47) g(k)
                     where not exists (select 1 from public.alert_windows w
                                        where w.tenant_id = e.tenant_id
                                          and w.window_slot = p_slot - g.k * p_length))
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
    select x.tenant_id, p_since, p_now, x.occurrences, x.errors, x.overdue, x.open_problems,
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

select public.fn_privileges_set(
    'function public.fn_alert_evaluate_judge(timestamptz, timestamptz, interval, timestamptz, '
    'numeric, integer, integer, text, text)',
    'execute', 'service_role');
