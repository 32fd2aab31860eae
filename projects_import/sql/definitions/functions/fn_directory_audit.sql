-- fn_directory_audit — record one directory change (internal: called by the writers below).
create or replace function public.fn_directory_audit(
    p_tenant_id text, p_action text, p_directory text, p_before jsonb, p_after jsonb,
    p_problem_id bigint default null)
    returns bigint
    language plpgsql
    set search_path = public, pg_temp
    as $$
declare
    v_id bigint;
begin
    insert into directory_changes (tenant_id, actor, action, directory, before, after,
                                   problem_id)
    values (p_tenant_id, coalesce(nullif(auth.jwt() ->> 'sub', ''), current_user), p_action,
            p_directory, p_before, p_after, p_problem_id)
    returning id into v_id;
    return v_id;
end
$$;

select public.fn_privileges_set(
    'function public.fn_directory_audit(text, text, text, jsonb, jsonb, bigint)',
    'execute', variadic '{}'::text[]);
