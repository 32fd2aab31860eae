-- fn_problems_set_status — an operator's bulk acknowledge/resolve (the console's): every
-- selected problem is locked up front in id order (fn_import_problems_lock, the order imports
-- and the backfill take problems in), then fn_problem_set_status is applied to each in that
-- order. All or nothing: an unknown id (no_data_found) or a resolved problem asked to be
-- acknowledged (object_not_in_prerequisite_state) refuses the whole selection. `changed` says whether the step changed that problem's status.
create or replace function public.fn_problems_set_status(
    p_ids     bigint[],
    p_status  text,
    p_note    text default null
) returns table (id bigint, status text, changed boolean)
    language plpgsql volatile security definer
    set search_path = public, pg_temp
    as $$
#variable_conflict use_column
declare
    v_ids      bigint[];
    v_missing  bigint;
    v_id       bigint;
    v_before   text;
    v_after    text;
begin
    perform fn_require_operator();
    v_ids := array(select distinct x from unnest(coalesce(p_ids, '{}')) x
                    where x is not null order by x);
    perform fn_import_problems_lock(v_ids);
    select x into v_missing from unnest(v_ids) x
     where not exists (select 1 from import_problems pr where pr.id = x)
     order by x limit 1;
    if v_missing is not null then
        raise exception 'no problem with id %', v_missing using errcode = 'no_data_found';
    end if;
    foreach v_id in array v_ids loop
        select pr.status into v_before from import_problems pr where pr.id = v_id;
        select s.status into v_after from fn_problem_set_status(v_id, p_status, p_note) s;
        id := v_id;
        status := v_after;
        changed := v_after is distinct from v_before;
        return next;
    end loop;
end
$$;

select public.fn_privileges_set('function public.fn_problems_set_status(bigint[], text, text)',
                                'execute', 'authenticated', 'service_role');
