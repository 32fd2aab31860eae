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
--
-- Directory fixes name their author and can be undone (admins; 42501 otherwise):
--   fn_directory_change_credit(p_tenant_id, p_change_id) → integer: the problems the change's
--       transaction resolved as directory_fix (resolved_at = the change's `at`: one
--       transaction, one now()) are credited to the admin who made the change, with a note
--       naming the change, in the problem and in its history (the backfill writes 'system').
--   fn_directory_change_undo(p_tenant_id, p_change_id) → jsonb: reverts the change (an alias
--       added is removed, a value changed is set back, a person added is removed), audited as
--       a change of its own with undo_of = p_change_id, re-resolves the projects it touches
--       (fn_directory_change_apply), and reopens the problems the change resolved that apply
--       again (acknowledged again when they had been). 55000 when it was already undone or is
--       itself an undo. {change_id, problems_reopened, effect}.
--
-- import_requests_batch: the import request of a batch (the console links a problem's first
-- batch, and each occurrence, to its import).

create index import_requests_batch on public.import_requests (batch_id)
    where batch_id is not null;
-- import_problem_events_at: what one merge did to problems (its events share its now()), for
-- an import's page.
create index import_problem_events_at on public.import_problem_events (tenant_id, at);

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

-- ------------------------------------------------------------------ directory fixes: author, undo

alter table public.directory_changes
    add column undo_of bigint;
-- One undo per change.
create unique index directory_changes_undo on public.directory_changes (tenant_id, undo_of)
    where undo_of is not null;

create or replace function public.fn_directory_change_credit(p_tenant_id text,
                                                             p_change_id bigint)
    returns integer
    language plpgsql volatile security definer
    set search_path = public, pg_temp
    as $$
declare
    v_change  directory_changes;
    v_note    text;
    v_ids     bigint[];
begin
    perform fn_require_admin();
    select * into v_change from directory_changes
     where tenant_id = p_tenant_id and id = p_change_id;
    if not found then
        raise exception 'tenant % has no directory change %', coalesce(p_tenant_id, 'null'),
            coalesce(p_change_id::text, 'null')
            using errcode = 'no_data_found';
    end if;
    v_note := format('directory change #%s (%s %s)', v_change.id, v_change.action,
                     v_change.directory);
    -- the problems this change resolved, locked up front by id
    select coalesce(array_agg(l.id order by l.id), '{}') into v_ids
      from (select pr.id from import_problems pr
             where pr.tenant_id = p_tenant_id and pr.status = 'resolved'
               and pr.resolution = 'directory_fix' and pr.resolved_at = v_change.at
               and pr.resolved_by = 'system'
             order by pr.id for update) l;
    update import_problems pr
       set resolved_by = v_change.actor, note = coalesce(pr.note, v_note)
     where pr.tenant_id = p_tenant_id and pr.id = any (v_ids);
    update import_problem_events e
       set actor = v_change.actor, note = coalesce(e.note, v_note)
     where e.tenant_id = p_tenant_id and e.problem_id = any (v_ids)
       and e.action = 'resolved' and e.resolution = 'directory_fix' and e.actor = 'system'
       and e.at = v_change.at;
    return cardinality(v_ids);
end
$$;

create or replace function public.fn_directory_change_undo(p_tenant_id text, p_change_id bigint)
    returns jsonb
    language plpgsql volatile security definer
    set search_path = public, pg_temp
    as $$
declare
    v_change    directory_changes;
    v_result    jsonb;
    v_undo      bigint;
    v_effect    jsonb;
    v_ids       bigint[];
    v_actor     text := coalesce(nullif(auth.jwt() ->> 'sub', ''), 'unknown');
    v_note      text;
begin
    perform fn_require_admin();
    select * into v_change from directory_changes
     where tenant_id = p_tenant_id and id = p_change_id
       for update;
    if not found then
        raise exception 'tenant % has no directory change %', coalesce(p_tenant_id, 'null'),
            coalesce(p_change_id::text, 'null')
            using errcode = 'no_data_found';
    end if;
    if v_change.undo_of is not null then
        raise exception 'directory change % is an undo itself: make the change again instead',
            p_change_id using errcode = 'object_not_in_prerequisite_state';
    end if;
    if exists (select 1 from directory_changes
                where tenant_id = p_tenant_id and undo_of = p_change_id) then
        raise exception 'directory change % was already undone', p_change_id
            using errcode = 'object_not_in_prerequisite_state';
    end if;

    if v_change.directory = 'partners' then
        if v_change.before is null then
            v_result := fn_directory_partner_remove(p_tenant_id, v_change.after ->> 'alias');
        else
            v_result := fn_directory_partner_set(p_tenant_id, v_change.before ->> 'alias',
                                                 v_change.before ->> 'canonical');
        end if;
    elsif v_change.before is null then
        if v_change.directory = 'ds' then
            delete from ds_directory where tenant_id = p_tenant_id
               and username_key = fn_directory_key(v_change.after ->> 'preferred_username');
        else
            delete from rm_directory where tenant_id = p_tenant_id
               and username_key = fn_directory_key(v_change.after ->> 'preferred_username');
        end if;
        v_result := jsonb_build_object('change_id', fn_directory_audit(
            p_tenant_id, 'remove', v_change.directory, v_change.after, null, null));
    else
        v_result := fn_directory_person_set(
            p_tenant_id, v_change.directory, v_change.before ->> 'preferred_username',
            v_change.before ->> 'display_name', (v_change.before ->> 'active')::boolean);
    end if;
    v_undo := (v_result ->> 'change_id')::bigint;
    if v_undo is null then
        raise exception 'directory change % cannot be undone: the directory already holds '
                        'what it held before', p_change_id
            using errcode = 'object_not_in_prerequisite_state';
    end if;
    update directory_changes set undo_of = p_change_id
     where tenant_id = p_tenant_id and id = v_undo;
    v_effect := fn_directory_change_apply(p_tenant_id, v_undo);

    -- reopen what the change resolved and applies again, locked up front by id
    v_note := format('undo of directory change #%s', p_change_id);
    select coalesce(array_agg(l.id order by l.id), '{}') into v_ids
      from (select pr.id from import_problems pr
              join projects p on p.tenant_id = pr.tenant_id
                             and p.stage_application = pr.project_key
             where pr.tenant_id = p_tenant_id and pr.status = 'resolved'
               and pr.resolution = 'directory_fix' and pr.resolved_at = v_change.at
               and exists (
                   select 1
                     from fn_import_anomaly_misses(p.delivery_partner,
                                                   p.deployment_specialist,
                                                   p.relationship_manager,
                                                   p.rm_preferred_username, p.partner_org,
                                                   p.ds_username, p.rm_username) m
                    where m.anomaly_type = pr.anomaly_type
                      and fn_directory_key(m.unknown_value) = pr.unknown_key)
             order by pr.id for update of pr) l;
    update import_problems pr
       set status = case when pr.acknowledged_at is null then 'open' else 'acknowledged' end,
           resolved_at = null, resolved_by = null, resolution = null
     where pr.tenant_id = p_tenant_id and pr.id = any (v_ids);
    insert into import_problem_events (tenant_id, problem_id, actor, action, note)
    select p_tenant_id, x.id, v_actor, 'reopened', v_note from unnest(v_ids) as x(id);
    update import_anomalies a
       set status = pr.status, acknowledged_at = pr.acknowledged_at,
           acknowledged_by = pr.acknowledged_by, resolved_at = null
      from import_problems pr
     where pr.tenant_id = p_tenant_id and pr.id = any (v_ids)
       and a.tenant_id = pr.tenant_id and a.problem_id = pr.id;

    return jsonb_build_object('change_id', v_undo, 'problems_reopened', cardinality(v_ids),
                              'effect', v_effect);
end
$$;

revoke execute on function
    public.fn_directory_change_credit(text, bigint),
    public.fn_directory_change_undo(text, bigint)
  from public;

do $$
begin
    grant execute on function
        public.fn_directory_change_credit(text, bigint),
        public.fn_directory_change_undo(text, bigint)
       to authenticated, service_role;
exception
    when undefined_object or insufficient_privilege then null;
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
