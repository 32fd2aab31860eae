-- fn_problem_get(id) — for operators: one problem by id; no_data_found when unknown.
create or replace function public.fn_problem_get(p_id bigint)
    returns setof public.import_problems
    language plpgsql stable
    as $$
begin
    perform public.fn_require_operator();
    return query select pr.* from public.import_problems pr where pr.id = p_id;
    if not found then
        raise exception 'no problem with id %', p_id using errcode = 'no_data_found';
    end if;
end
$$;

select public.fn_privileges_set(
    'function public.fn_problem_get(bigint)',
    'execute', 'authenticated', 'service_role');
