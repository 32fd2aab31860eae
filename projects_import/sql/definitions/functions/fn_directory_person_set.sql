-- fn_directory_person_set(tenant, directory ds|rm, username, display_name, active) — admin:
-- add a deployment specialist or relationship manager, change the display name, or
-- (de)activate one. A blank display name keeps the current one (an RM needs one). Returns
-- {change_id, action} (change_id null when nothing changed).
create or replace function public.fn_directory_person_set(
    p_tenant_id text, p_directory text, p_username text, p_display_name text,
    p_active boolean default true, p_problem_id bigint default null)
    returns jsonb
    language plpgsql
    security definer
    set search_path = public, pg_temp
    as $$
declare
    v_username text := btrim(p_username);
    v_display  text := nullif(btrim(p_display_name), '');
    v_before   jsonb;
    v_after    jsonb;
    v_action   text;
begin
    perform fn_require_admin();
    perform fn_directory_check_tenant(p_tenant_id);
    if p_directory is null or p_directory not in ('ds', 'rm') then
        raise exception 'directory must be ds or rm, got %', coalesce(p_directory, 'null')
            using errcode = '22023';
    end if;
    if fn_directory_key(v_username) is null then
        raise exception 'preferred_username must not be blank' using errcode = '22023';
    end if;
    if char_length(v_username) > 256 or char_length(v_display) > 256 then
        raise exception 'preferred_username and display_name must be at most 256 characters'
            using errcode = '22023';
    end if;
    if p_active is null then
        raise exception 'active must be true or false' using errcode = '22023';
    end if;

    if p_directory = 'ds' then
        select to_jsonb(d) - 'username_key' - 'tenant_id' into v_before from ds_directory d
         where d.tenant_id = p_tenant_id and d.username_key = fn_directory_key(v_username)
           for update;
        insert into ds_directory as d (tenant_id, preferred_username, display_name, active)
        values (p_tenant_id, v_username, v_display, p_active)
        on conflict (tenant_id, username_key) do update
           set preferred_username = excluded.preferred_username,
               display_name = coalesce(excluded.display_name, d.display_name),
               active = excluded.active, updated_at = now()
        returning to_jsonb(d) - 'username_key' - 'tenant_id' into v_after;
    else
        select to_jsonb(r) - 'username_key' - 'display_key' - 'tenant_id' into v_before
          from rm_directory r
         where r.tenant_id = p_tenant_id and r.username_key = fn_directory_key(v_username)
           for update;
        if v_before is null and v_display is null then
            raise exception 'a relationship manager needs a display_name'
                using errcode = '22023';
        end if;
        insert into rm_directory as r (tenant_id, preferred_username, display_name, active)
        values (p_tenant_id, v_username, coalesce(v_display, v_before ->> 'display_name'),
                p_active)
        on conflict (tenant_id, username_key) do update
           set preferred_username = excluded.preferred_username,
               display_name = excluded.display_name,
               active = excluded.active, updated_at = now()
        returning to_jsonb(r) - 'username_key' - 'display_key' - 'tenant_id' into v_after;
    end if;

    if v_before is not null and (v_before - 'updated_at') = (v_after - 'updated_at') then
        return jsonb_build_object('change_id', null, 'action', null);
    end if;
    v_action := case
        when v_before is null then 'add'
        when (v_before ->> 'active')::boolean and not p_active then 'deactivate'
        when not (v_before ->> 'active')::boolean and p_active then 'reactivate'
        else 'update' end;
    return jsonb_build_object(
        'change_id', fn_directory_audit(p_tenant_id, v_action, p_directory,
                                        v_before - 'updated_at', v_after - 'updated_at',
                                        p_problem_id),
        'action', v_action);
end
$$;

select public.fn_privileges_set(
    'function public.fn_directory_person_set(text, text, text, text, boolean, bigint)',
    'execute', 'authenticated', 'service_role');
