-- 0038 — Problem groups (SPEC §10): the work by cause, not by row. A group is every problem
-- of one (tenant_id, anomaly_type, unknown_value): "Fulton Hogen" misspelt in 8 projects is one
-- group of 8 problems, fixed or acknowledged at once.
--
--   fn_problem_groups_for_operator(the filters of fn_problems_for_operator,
--       p_after_last_seen_at, p_after_group_id, p_limit default 100)
--       → one row per group of the problems the filters match: problems, projects, occurrences,
--       first/last seen, ack_due_at (earliest of its open problems), resolve_due_at (earliest
--       of its unresolved ones), overdue (problems past a clock), statuses (counts by status),
--       group_id (the group's smallest problem id: with last_seen_at the keyset position) and
--       first_batch_id (the batch of the group's earliest occurrence). Newest last seen first.
--   fn_problems_set_status_each(p_ids bigint[], p_status, p_note default null)
--       → per problem asked for, in the order given: what was done (acknowledged | resolved)
--       or skipped and why (missing, already resolved, already acknowledged). Locks every
--       named problem up front by id, then takes each step through fn_problem_set_status, so
--       the lifecycle has one rule. The console's bulk action: it acts on what it can.
--   fn_problem_group_set_status(p_tenant_id, p_anomaly_type, p_unknown_value, p_status,
--       p_note default null) → the same answer for every problem of the group (P0002 when the
--       group has none).
-- Operators only (fn_require_operator; 42501 otherwise), as for single problems.

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

-- fn_problems_set_status_each — see the header. SECURITY DEFINER like fn_problem_set_status:
-- operators have no write grant on the tables, and the lock needs one.
create or replace function public.fn_problems_set_status_each(
    p_ids     bigint[],
    p_status  text,
    p_note    text default null
) returns table (
    id             bigint,
    tenant_id      text,
    project_key    text,
    status_before  text,
    status         text,
    outcome        text,
    reason         text
)
    language plpgsql volatile security definer
    set search_path = public, pg_temp
    as $$
declare
    v_asked    record;
    v_problem  import_problems%rowtype;
begin
    perform fn_require_operator();
    if p_status is null or p_status not in ('acknowledged', 'resolved') then
        raise exception 'status must be acknowledged or resolved, got %',
            coalesce(p_status, 'null')
            using errcode = 'invalid_parameter_value';
    end if;
    if char_length(p_note) > 2000 then
        raise exception 'a note is at most 2000 characters'
            using errcode = 'invalid_parameter_value';
    end if;
    if cardinality(p_ids) > 10000 then
        raise exception 'at most 10000 problems at a time, got %', cardinality(p_ids)
            using errcode = 'invalid_parameter_value';
    end if;

    -- every problem this step may change, locked up front in the global order (by id)
    perform 1 from import_problems pr where pr.id = any (p_ids) order by pr.id for update;

    for v_asked in
        select u.id from unnest(p_ids) with ordinality as u(id, n)
         group by u.id order by min(u.n)
    loop
        select * into v_problem from import_problems pr where pr.id = v_asked.id;
        id := v_asked.id;
        if not found then
            tenant_id := null; project_key := null; status_before := null; status := null;
            outcome := 'skipped';
            reason := 'no problem with this id';
            return next;
            continue;
        end if;
        tenant_id := v_problem.tenant_id;
        project_key := v_problem.project_key;
        status_before := v_problem.status;
        if v_problem.status = 'resolved' then
            status := v_problem.status;
            outcome := 'skipped';
            reason := 'already resolved';
        elsif v_problem.status = p_status then
            status := v_problem.status;
            outcome := 'skipped';
            reason := 'already ' || p_status;
        else
            select pr.status into status
              from fn_problem_set_status(v_problem.id, p_status, p_note) pr;
            outcome := p_status;
            reason := null;
        end if;
        return next;
    end loop;
end
$$;

create or replace function public.fn_problem_group_set_status(
    p_tenant_id      text,
    p_anomaly_type   text,
    p_unknown_value  text,
    p_status         text,
    p_note           text default null
) returns table (
    id             bigint,
    tenant_id      text,
    project_key    text,
    status_before  text,
    status         text,
    outcome        text,
    reason         text
)
    language plpgsql volatile security definer
    set search_path = public, pg_temp
    as $$
declare
    v_ids bigint[];
begin
    perform fn_require_operator();
    -- the group's problems, locked up front by id (the global order), read once
    select coalesce(array_agg(l.id order by l.id), '{}') into v_ids
      from (select pr.id from import_problems pr
             where pr.tenant_id = p_tenant_id and pr.anomaly_type = p_anomaly_type
               and pr.unknown_value = p_unknown_value
             order by pr.id for update) l;
    if cardinality(v_ids) = 0 then
        raise exception 'tenant % has no % problem with unknown value %',
            coalesce(p_tenant_id, 'null'), coalesce(p_anomaly_type, 'null'),
            coalesce(p_unknown_value, 'null')
            using errcode = 'no_data_found';
    end if;
    return query select * from fn_problems_set_status_each(v_ids, p_status, p_note);
end
$$;

revoke execute on function
    public.fn_problem_groups_for_operator(text, text[], text[], text[], uuid[], text, boolean,
                                          text, timestamptz, bigint, integer),
    public.fn_problems_set_status_each(bigint[], text, text),
    public.fn_problem_group_set_status(text, text, text, text, text)
  from public;

do $$
begin
    grant execute on function
        public.fn_problem_groups_for_operator(text, text[], text[], text[], uuid[], text,
                                              boolean, text, timestamptz, bigint, integer),
        public.fn_problems_set_status_each(bigint[], text, text),
        public.fn_problem_group_set_status(text, text, text, text, text)
       to authenticated, service_role;
exception
    when undefined_object or insufficient_privilege then null;
end
$$;
