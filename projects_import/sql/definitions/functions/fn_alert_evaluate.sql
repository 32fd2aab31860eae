-- fn_alert_evaluate — one evaluation of the alert rules over the window of p_window_hours
-- ending at p_now, one row per tenant with something in it, in named steps: the tenants'
-- figures (fn_alert_evaluate_tenants), the alerting tenants' window slots recorded
-- (fn_alert_evaluate_windows), then escalation, fingerprints and suppression
-- (fn_alert_evaluate_judge). Set-based; the per-tenant subqueries run once per tenant that
-- has anything in the window.
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
    select * from fn_alert_evaluate_tenants(v_since, p_now, p_min_occurrences);
    perform fn_alert_evaluate_windows(v_slot, p_window_hours, p_now);
    return query
    select * from fn_alert_evaluate_judge(v_since, p_now, v_length, v_slot, p_suppress_hours,
                                          p_escalate_windows, p_escalate_ds_rm, p_alert_target,
                                          p_escalation_target);
end
$$;

select public.fn_privileges_set(
    'function public.fn_alert_evaluate(integer, integer, numeric, integer, integer, text, text, '
    'timestamp with time zone)',
    'execute', 'service_role');
