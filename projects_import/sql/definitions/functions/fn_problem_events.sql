-- fn_problem_events(id) — for operators: the history of one problem (opened, reopened,
-- acknowledged, resolved, with actor and note), oldest first; no_data_found when unknown.
create or replace function public.fn_problem_events(p_id bigint)
    returns setof public.import_problem_events
    language plpgsql stable
    as $$
declare
    v_tenant text;
begin
    perform public.fn_require_operator();
    select pr.tenant_id into v_tenant from public.import_problems pr where pr.id = p_id;
    if not found then
        raise exception 'no problem with id %', p_id using errcode = 'no_data_found';
    end if;
    return query
        select e.* from public.import_problem_events e
         where e.tenant_id = v_tenant and e.problem_id = p_id
         order by e.at, e.id;
end
$$;

select public.fn_privileges_set(
    'function public.fn_problem_events(bigint)',
    'execute', 'authenticated', 'service_role');
