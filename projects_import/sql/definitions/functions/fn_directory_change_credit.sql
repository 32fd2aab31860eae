-- fn_directory_change_credit — admin: the problems a directory change's transaction resolved
-- as directory_fix (resolved_at = the change's `at`: one transaction, one now()) are credited to
-- the admin who made the change, with a note naming it, in the problem and in its history (the
-- backfill writes 'system'). Returns how many.
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
    select coalesce(array_agg(pr.id order by pr.id), '{}') into v_ids
      from import_problems pr
     where pr.tenant_id = p_tenant_id and pr.status = 'resolved'
       and pr.resolution = 'directory_fix' and pr.resolved_at = v_change.at
       and pr.resolved_by = 'system';
    perform fn_import_problems_lock(v_ids);
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

select public.fn_privileges_set(
    'function public.fn_directory_change_credit(text, bigint)',
    'execute', 'authenticated', 'service_role');
