-- fn_tenant_pause — quarantine a tenant: its imports answer {"outcome": "paused"} and stage
-- nothing until fn_tenant_resume. Takes the tenant's import lock first, so an import in flight
-- finishes before the pause takes effect and none starts after. Pausing a paused tenant
-- changes nothing (changed: false). 22023 blank reason, P0002 unknown tenant.
-- Answers {tenant_id, paused, paused_at, paused_reason, paused_by, changed}.
create or replace function public.fn_tenant_pause(
    p_tenant_id  text,
    p_reason     text,
    p_actor      text default 'system'
) returns jsonb
    language plpgsql
    set search_path = public, pg_temp
    as $$
declare
    v_tenant   tenants%rowtype;
    v_changed  boolean := false;
begin
    if nullif(btrim(p_reason), '') is null or char_length(btrim(p_reason)) > 500 then
        raise exception 'a pause needs a reason of 1 to 500 characters'
            using errcode = 'invalid_parameter_value';
    end if;
    if not exists (select 1 from tenants where tenant_id = p_tenant_id) then
        raise exception 'no tenant %', p_tenant_id using errcode = 'no_data_found';
    end if;
    perform fn_projects_import_lock(p_tenant_id);

    update tenants
       set paused_at = now(), paused_reason = btrim(p_reason),
           paused_by = coalesce(nullif(btrim(p_actor), ''), 'system')
     where tenant_id = p_tenant_id and paused_at is null;
    if found then
        v_changed := true;
        insert into tenant_events (tenant_id, action, reason, actor)
        values (p_tenant_id, 'pause', btrim(p_reason),
                coalesce(nullif(btrim(p_actor), ''), 'system'));
    end if;

    select * into v_tenant from tenants where tenant_id = p_tenant_id;
    return jsonb_build_object('tenant_id', p_tenant_id, 'paused', true,
                              'paused_at', v_tenant.paused_at,
                              'paused_reason', v_tenant.paused_reason,
                              'paused_by', v_tenant.paused_by, 'changed', v_changed);
end
$$;

select public.fn_privileges_set(
    'function public.fn_tenant_pause(text, text, text)',
    'execute', 'service_role');
