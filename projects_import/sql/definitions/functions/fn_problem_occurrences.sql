-- fn_problem_occurrences(id, limit) — for operators: the occurrences (import_anomalies rows)
-- of one problem, newest first, at most p_limit; no_data_found when the problem is unknown.
create or replace function public.fn_problem_occurrences(p_id bigint, p_limit integer default 100)
    returns setof public.import_anomalies
    language plpgsql stable
    as $$
declare
    v_tenant text;
begin
    perform public.fn_require_operator();
    perform public.fn_problems_check_filters(null, null, null, p_limit);
    select pr.tenant_id into v_tenant from public.import_problems pr where pr.id = p_id;
    if not found then
        raise exception 'no problem with id %', p_id using errcode = 'no_data_found';
    end if;
    return query
        select a.* from public.import_anomalies a
         where a.tenant_id = v_tenant and a.problem_id = p_id
         order by a.created_at desc, a.id desc
         limit p_limit;
end
$$;

select public.fn_privileges_set(
    'function public.fn_problem_occurrences(bigint, integer)',
    'execute', 'authenticated', 'service_role');
