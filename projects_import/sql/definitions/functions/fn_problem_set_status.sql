-- fn_problem_set_status — the lifecycle on a problem: acknowledge or resolve, with a note. The
-- problem's occurrences follow its status. SECURITY DEFINER: operators need no write grant on
-- the tables.
create or replace function public.fn_problem_set_status(
    p_id      bigint,
    p_status  text,
    p_note    text default null
) returns setof public.import_problems
    language plpgsql volatile security definer
    set search_path = public, pg_temp
    as $$
declare
    v_problem  import_problems%rowtype;
    v_actor    text := coalesce(nullif(auth.jwt() ->> 'sub', ''), 'unknown');
    v_note     text := nullif(btrim(p_note), '');
begin
    perform fn_require_operator();
    if p_status is null or p_status not in ('acknowledged', 'resolved') then
        raise exception 'status must be acknowledged or resolved, got %',
            coalesce(p_status, 'null')
            using errcode = 'invalid_parameter_value';
    end if;
    if char_length(v_note) > 2000 then
        raise exception 'a note is at most 2000 characters' using errcode = 'invalid_parameter_value';
    end if;

    select * into v_problem from import_problems pr where pr.id = p_id for update;
    if not found then
        raise exception 'no problem with id %', p_id using errcode = 'no_data_found';
    end if;
    if v_problem.status = 'resolved' and p_status = 'acknowledged' then
        raise exception 'problem % is already resolved; it cannot be acknowledged', p_id
            using errcode = 'object_not_in_prerequisite_state';
    end if;

    if v_problem.status <> p_status and v_problem.status <> 'resolved' then
        update import_problems pr
           set status = p_status,
               acknowledged_at = case when p_status = 'acknowledged' then now()
                                      else pr.acknowledged_at end,
               acknowledged_by = case when p_status = 'acknowledged' then v_actor
                                      else pr.acknowledged_by end,
               resolved_at = case when p_status = 'resolved' then now() end,
               resolved_by = case when p_status = 'resolved' then v_actor end,
               resolution = case when p_status = 'resolved' then 'manual' end,
               note = coalesce(v_note, pr.note)
         where pr.tenant_id = v_problem.tenant_id and pr.id = p_id
        returning * into v_problem;

        insert into import_problem_events (tenant_id, problem_id, actor, action, resolution,
                                           note)
        values (v_problem.tenant_id, p_id, v_actor, p_status, v_problem.resolution, v_note);

        update import_anomalies a
           set status = v_problem.status,
               acknowledged_at = v_problem.acknowledged_at,
               acknowledged_by = v_problem.acknowledged_by,
               resolved_at = v_problem.resolved_at
         where a.tenant_id = v_problem.tenant_id and a.problem_id = p_id;
    end if;

    return next v_problem;
end
$$;

select public.fn_privileges_set(
    'function public.fn_problem_set_status(bigint, text, text)',
    'execute', 'authenticated', 'service_role');
