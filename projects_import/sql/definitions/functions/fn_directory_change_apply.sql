-- fn_directory_change_apply(tenant, change) — for admins: re-resolve the projects an audited
-- directory change touches (their partner / DS / RM value matches a value of the row before or
-- after the change) with the backfill, resolve the problems that no longer apply as
-- directory_fix, and record the effect on the change. Applying a change again resolves nothing
-- more and leaves the recorded effect as it was.
create or replace function public.fn_directory_change_apply(p_tenant_id text, p_change_id bigint)
    returns jsonb
    language plpgsql
    security definer
    set search_path = public, pg_temp
    as $$
declare
    v_change    directory_changes;
    v_values    text[];
    v_keys      text[];
    v_open      integer;
    v_backfill  jsonb;
    v_effect    jsonb;
begin
    perform fn_require_admin();
    select * into v_change from directory_changes
     where tenant_id = p_tenant_id and id = p_change_id
       for update;
    if not found then
        raise exception 'tenant % has no directory change %', coalesce(p_tenant_id, 'null'),
            coalesce(p_change_id::text, 'null')
            using errcode = 'no_data_found';
    end if;

    -- the directory keys of every value the row had before or has after the change
    select coalesce(array_agg(distinct fn_directory_key(x.value)), '{}') into v_values
      from (values (v_change.before), (v_change.after)) as s(row_json)
      cross join lateral jsonb_each_text(coalesce(s.row_json, '{}'::jsonb)) as x(key, value)
     where x.key in ('alias', 'canonical', 'preferred_username', 'display_name')
       and fn_directory_key(x.value) is not null;

    select coalesce(array_agg(p.stage_application), '{}') into v_keys
      from projects p
     where p.tenant_id = p_tenant_id
       and case v_change.directory
               when 'partners' then fn_directory_key(p.delivery_partner) = any (v_values)
               when 'ds' then fn_directory_key(p.deployment_specialist) = any (v_values)
               else fn_directory_key(p.rm_preferred_username) = any (v_values)
                    or fn_directory_key(p.relationship_manager) = any (v_values)
           end;

    select count(*) into v_open from import_problems pr
     where pr.tenant_id = p_tenant_id and pr.project_key = any (v_keys)
       and pr.status <> 'resolved';

    v_backfill := fn_projects_membership_backfill(p_tenant_id, v_keys);

    select jsonb_build_object('projects', cardinality(v_keys),
                              'problems_resolved', v_open - count(*))
           || v_backfill
      into v_effect
      from import_problems pr
     where pr.tenant_id = p_tenant_id and pr.project_key = any (v_keys)
       and pr.status <> 'resolved';

    -- the change keeps the effect of its first application (the console's, in its transaction)
    update directory_changes
       set effect = v_effect
     where tenant_id = p_tenant_id and id = p_change_id and effect = '{}'::jsonb;
    return v_effect;
end
$$;

select public.fn_privileges_set(
    'function public.fn_directory_change_apply(text, bigint)',
    'execute', 'authenticated', 'service_role');
