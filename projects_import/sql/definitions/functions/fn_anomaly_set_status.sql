-- fn_anomaly_set_status (0005) keeps its signature and answer; an anomaly with a problem is
-- acknowledged/resolved through its problem (fn_problem_set_status), so every occurrence of
-- that problem changes with it. SECURITY DEFINER like the 0010 lifecycle RPC.
-- An anomaly without a problem is locked (`for update`) before its status is read, so a
-- concurrent backfill's `resolved` is waited for and never overwritten.
create or replace function public.fn_anomaly_set_status(p_id bigint, p_status text)
    returns table (id bigint, tenant_id text, status text, acknowledged_at timestamptz,
                   acknowledged_by text, resolved_at timestamptz)
    language plpgsql volatile security definer
    set search_path = public, pg_temp
    as $$
#variable_conflict use_column
declare
    v_current  text;
    v_problem  bigint;
begin
    perform public.fn_require_operator();
    if p_status is null or p_status not in ('acknowledged', 'resolved') then
        raise exception 'status must be acknowledged or resolved, got %',
            coalesce(p_status, 'null')
            using errcode = 'invalid_parameter_value';
    end if;

    select a.problem_id into v_problem
      from public.import_anomalies a
     where a.id = p_id;
    if not found then
        raise exception 'no anomaly with id %', p_id using errcode = 'no_data_found';
    end if;

    if v_problem is not null then
        perform public.fn_problem_set_status(v_problem, p_status);
        return query
            select a.id, a.tenant_id, a.status, a.acknowledged_at, a.acknowledged_by,
                   a.resolved_at
              from public.import_anomalies a
             where a.id = p_id;
        return;
    end if;

    select a.status into v_current
      from public.import_anomalies a
     where a.id = p_id
       for update;
    if not found then
        raise exception 'no anomaly with id %', p_id using errcode = 'no_data_found';
    end if;
    if v_current = 'resolved' and p_status = 'acknowledged' then
        raise exception 'anomaly % is already resolved; it cannot be acknowledged', p_id
            using errcode = 'object_not_in_prerequisite_state';
    end if;

    return query
        update public.import_anomalies a
           set status = p_status,
               acknowledged_at = case when p_status = 'acknowledged'
                                      then coalesce(a.acknowledged_at, now())
                                      else a.acknowledged_at end,
               acknowledged_by = case when p_status = 'acknowledged'
                                      then coalesce(a.acknowledged_by, auth.jwt() ->> 'sub')
                                      else a.acknowledged_by end,
               resolved_at = case when p_status = 'resolved'
                                  then coalesce(a.resolved_at, now())
                                  else a.resolved_at end
         where a.id = p_id
        returning a.id, a.tenant_id, a.status, a.acknowledged_at, a.acknowledged_by,
                  a.resolved_at;
end
$$;

select public.fn_privileges_set(
    'function public.fn_anomaly_set_status(bigint, text)',
    'execute', 'authenticated', 'service_role');
