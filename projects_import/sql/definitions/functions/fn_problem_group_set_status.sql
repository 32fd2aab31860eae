-- fn_problem_group_set_status — fn_problems_set_status_each for every problem of one group
-- (tenant, anomaly type, unknown value), locked up front by id; P0002 when the group has none.
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
    -- the group's problems; fn_problems_set_status_each locks them up front by id (the
    -- global order, fn_import_problems_lock)
    select coalesce(array_agg(pr.id order by pr.id), '{}') into v_ids
      from import_problems pr
     where pr.tenant_id = p_tenant_id and pr.anomaly_type = p_anomaly_type
       and pr.unknown_value = p_unknown_value;
    if cardinality(v_ids) = 0 then
        raise exception 'tenant % has no % problem with unknown value %',
            coalesce(p_tenant_id, 'null'), coalesce(p_anomaly_type, 'null'),
            coalesce(p_unknown_value, 'null')
            using errcode = 'no_data_found';
    end if;
    return query select * from fn_problems_set_status_each(v_ids, p_status, p_note);
end
$$;

select public.fn_privileges_set(
    'function public.fn_problem_group_set_status(text, text, text, text, text)',
    'execute', 'authenticated', 'service_role');
