-- fn_tenant_resume — lift a pause; resuming a tenant that is not paused changes nothing.
-- P0002 unknown tenant. Answers {tenant_id, paused: false, changed}.
create or replace function public.fn_tenant_resume(
    p_tenant_id  text,
    p_actor      text default 'system'
) returns jsonb
    language plpgsql
    set search_path = public, pg_temp
    as $$
declare
    v_changed boolean := false;
begin
    if not exists (select 1 from tenants where tenant_id = p_tenant_id) then
        raise exception 'no tenant %', p_tenant_id using errcode = 'no_data_found';
    end if;
    update tenants
       set paused_at = null, paused_reason = null, paused_by = null
     where tenant_id = p_tenant_id and paused_at is not null;
    if found then
        v_changed := true;
        insert into tenant_events (tenant_id, action, actor)
        values (p_tenant_id, 'resume', coalesce(nullif(btrim(p_actor), ''), 'system'));
    end if;
    return jsonb_build_object('tenant_id', p_tenant_id, 'paused', false, 'changed', v_changed);
end
$$;

select public.fn_privileges_set(
    'function public.fn_tenant_resume(text, text)',
    'execute', 'service_role');
