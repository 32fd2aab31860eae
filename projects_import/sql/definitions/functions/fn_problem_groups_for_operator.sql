-- fn_problem_groups_for_operator — problem groups (SPEC §10): one row per (tenant_id,
-- anomaly_type, unknown_value) of the problems fn_problems_for_operator's filters match, with
-- problems, projects, occurrences, first/last seen, ack_due_at (earliest of its open problems),
-- resolve_due_at (earliest of its unresolved ones), overdue, statuses (counts by status),
-- group_id (its smallest problem id: with last_seen_at the keyset position) and first_batch_id
-- (the batch of its earliest occurrence). Newest last seen first. Operators only.
create or replace function public.fn_problem_groups_for_operator(
    p_tenant              text default null,
    p_anomaly_type        text[] default null,
    p_status              text[] default null,
    p_severity            text[] default null,
    p_batch_id            uuid[] default null,
    p_project_key         text default null,
    p_overdue             boolean default null,
    p_search              text default null,
    p_after_last_seen_at  timestamptz default null,
    p_after_group_id      bigint default null,
    p_limit               integer default 100
) returns table (
    tenant_id       text,
    anomaly_type    text,
    severity        text,
    unknown_value   text,
    problems        integer,
    projects        integer,
    occurrences     bigint,
    first_seen_at   timestamptz,
    last_seen_at    timestamptz,
    ack_due_at      timestamptz,
    resolve_due_at  timestamptz,
    overdue         integer,
    statuses        jsonb,
    group_id        bigint,
    first_batch_id  uuid
)
    language plpgsql stable
    set search_path = public, pg_temp
    as $$
begin
    perform fn_require_operator();
    perform fn_problems_check_filters(p_anomaly_type, p_status, p_severity, p_limit);
    if (p_after_last_seen_at is null) <> (p_after_group_id is null) then
        raise exception 'the cursor needs both p_after_last_seen_at and p_after_group_id'
            using errcode = 'invalid_parameter_value';
    end if;

    return query
        with matched as (
            select pr.*
              from fn_problems_for_operator(p_tenant, p_anomaly_type, p_status, p_severity,
                                            p_batch_id, p_project_key, p_overdue, p_search,
                                            null, null, null) pr
        ), grouped as (
            select m.tenant_id, m.anomaly_type, max(m.severity) as severity, m.unknown_value,
                   count(*)::integer as problems,
                   count(distinct m.project_key)::integer as projects,
                   sum(m.occurrences)::bigint as occurrences,
                   min(m.first_seen_at) as first_seen_at, max(m.last_seen_at) as last_seen_at,
                   min(m.ack_due_at) filter (where m.status = 'open') as ack_due_at,
                   min(m.resolve_due_at) filter (where m.status <> 'resolved')
                       as resolve_due_at,
                   count(*) filter (
                       where (m.status = 'open' and m.ack_due_at < now())
                          or (m.status <> 'resolved' and m.resolve_due_at < now()))::integer
                       as overdue,
                   jsonb_build_object(
                       'open', count(*) filter (where m.status = 'open'),
                       'acknowledged', count(*) filter (where m.status = 'acknowledged'),
                       'resolved', count(*) filter (where m.status = 'resolved'))
                       as statuses,
                   min(m.id) as group_id,
                   array_agg(m.id) as ids
              from matched m
             group by m.tenant_id, m.anomaly_type, m.unknown_value
            having p_after_last_seen_at is null
                or (max(m.last_seen_at), min(m.id)) < (p_after_last_seen_at, p_after_group_id)
             order by max(m.last_seen_at) desc, min(m.id) desc
             limit p_limit
        )
        select g.tenant_id, g.anomaly_type, g.severity, g.unknown_value, g.problems,
               g.projects, g.occurrences, g.first_seen_at, g.last_seen_at, g.ack_due_at,
               g.resolve_due_at, g.overdue, g.statuses, g.group_id,
               (select a.batch_id from import_anomalies a
                 where a.tenant_id = g.tenant_id and a.problem_id = any (g.ids)
                 order by a.created_at, a.id limit 1)
          from grouped g
         order by g.last_seen_at desc, g.group_id desc;
end
$$;

select public.fn_privileges_set(
    'function public.fn_problem_groups_for_operator(text, text[], text[], text[], uuid[], text, boolean, text, timestamptz, bigint, integer)',
    'execute', 'authenticated', 'service_role');
