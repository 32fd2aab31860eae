-- fn_problems_set_status_each — acknowledge or resolve the given problems that can take the
-- step: locks every named problem up front by id (the global order), then takes each step
-- through fn_problem_set_status (one lifecycle rule). One row per id asked for, in the order
-- given: done (acknowledged | resolved) or skipped and why (no such problem, already resolved,
-- already acknowledged). SECURITY DEFINER like fn_problem_set_status: operators have no write
-- grant on the tables, and the lock needs one. Operators only.
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
    perform fn_import_problems_lock(p_ids);

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

select public.fn_privileges_set(
    'function public.fn_problems_set_status_each(bigint[], text, text)',
    'execute', 'authenticated', 'service_role');
