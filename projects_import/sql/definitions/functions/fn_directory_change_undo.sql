-- fn_directory_change_undo — admin: revert a directory change (an alias added is removed, a
-- value changed is set back, a person added is removed), audited as a change of its own with
-- undo_of, re-resolve the projects it touches (fn_directory_change_apply), and reopen the
-- problems it resolved that apply again (acknowledged again when they had been). 55000 when it
-- was already undone or is an undo itself. {change_id, problems_reopened, effect}.
create or replace function public.fn_directory_change_undo(p_tenant_id text, p_change_id bigint)
    returns jsonb
    language plpgsql volatile security definer
    set search_path = public, pg_temp
    as $$
declare
    v_change    directory_changes;
    v_result    jsonb;
    v_undo      bigint;
    v_effect    jsonb;
    v_ids       bigint[];
    v_actor     text := coalesce(nullif(auth.jwt() ->> 'sub', ''), 'unknown');
    v_note      text;
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
    if v_change.undo_of is not null then
        raise exception 'directory change % is an undo itself: make the change again instead',
            p_change_id using errcode = 'object_not_in_prerequisite_state';
    end if;
    if exists (select 1 from directory_changes
                where tenant_id = p_tenant_id and undo_of = p_change_id) then
        raise exception 'directory change % was already undone', p_change_id
            using errcode = 'object_not_in_prerequisite_state';
    end if;

    if v_change.directory = 'partners' then
        if v_change.before is null then
            v_result := fn_directory_partner_remove(p_tenant_id, v_change.after ->> 'alias');
        else
            v_result := fn_directory_partner_set(p_tenant_id, v_change.before ->> 'alias',
                                                 v_change.before ->> 'canonical');
        end if;
    elsif v_change.before is null then
        if v_change.directory = 'ds' then
            delete from ds_directory where tenant_id = p_tenant_id
               and username_key = fn_directory_key(v_change.after ->> 'preferred_username');
        else
            delete from rm_directory where tenant_id = p_tenant_id
               and username_key = fn_directory_key(v_change.after ->> 'preferred_username');
        end if;
        v_result := jsonb_build_object('change_id', fn_directory_audit(
            p_tenant_id, 'remove', v_change.directory, v_change.after, null, null));
    else
        v_result := fn_directory_person_set(
            p_tenant_id, v_change.directory, v_change.before ->> 'preferred_username',
            v_change.before ->> 'display_name', (v_change.before ->> 'active')::boolean);
    end if;
    v_undo := (v_result ->> 'change_id')::bigint;
    if v_undo is null then
        raise exception 'directory change % cannot be undone: the directory already holds '
                        'what it held before', p_change_id
            using errcode = 'object_not_in_prerequisite_state';
    end if;
    update directory_changes set undo_of = p_change_id
     where tenant_id = p_tenant_id and id = v_undo;
    v_effect := fn_directory_change_apply(p_tenant_id, v_undo);

    -- reopen what the change resolved and applies again, locked up front by id
    v_note := format('undo of directory change #%s', p_change_id);
    select coalesce(array_agg(pr.id order by pr.id), '{}') into v_ids
      from import_problems pr
      join projects p on p.tenant_id = pr.tenant_id and p.stage_application = pr.project_key
     where pr.tenant_id = p_tenant_id and pr.status = 'resolved'
       and pr.resolution = 'directory_fix' and pr.resolved_at = v_change.at
       and exists (
           select 1
             from fn_import_anomaly_misses(p.delivery_partner, p.deployment_specialist,
                                           p.relationship_manager, p.rm_preferred_username,
                                           p.partner_org, p.ds_username, p.rm_username) m
            where m.anomaly_type = pr.anomaly_type
              and fn_directory_key(m.unknown_value) = pr.unknown_key);
    perform fn_import_problems_lock(v_ids);
    update import_problems pr
       set status = case when pr.acknowledged_at is null then 'open' else 'acknowledged' end,
           resolved_at = null, resolved_by = null, resolution = null
     where pr.tenant_id = p_tenant_id and pr.id = any (v_ids) and pr.status = 'resolved';
    insert into import_problem_events (tenant_id, problem_id, actor, action, note)
    select p_tenant_id, x.id, v_actor, 'reopened', v_note from unnest(v_ids) as x(id);
    update import_anomalies a
       set status = pr.status, acknowledged_at = pr.acknowledged_at,
           acknowledged_by = pr.acknowledged_by, resolved_at = null
      from import_problems pr
     where pr.tenant_id = p_tenant_id and pr.id = any (v_ids)
       and a.tenant_id = pr.tenant_id and a.problem_id = pr.id;

    return jsonb_build_object('change_id', v_undo, 'problems_reopened', cardinality(v_ids),
                              'effect', v_effect);
end
$$;

select public.fn_privileges_set(
    'function public.fn_directory_change_undo(text, bigint)',
    'execute', 'authenticated', 'service_role');
