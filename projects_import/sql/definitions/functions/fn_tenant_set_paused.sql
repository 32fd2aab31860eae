-- fn_tenant_set_paused(tenant, paused, reason): pause (with a reason) or resume a tenant as
-- the calling admin; the JWT's `sub` is recorded as the actor in tenants.paused_by and
-- tenant_events. Errors: 42501 not an admin, 22023 a pause without a reason, P0002 no tenant.
create or replace function public.fn_tenant_set_paused(
    p_tenant_id text, p_paused boolean, p_reason text default null)
    returns jsonb
    language plpgsql volatile security definer
    set search_path = public, pg_temp
    as $$
declare
    v_actor text := coalesce(nullif(btrim(auth.jwt() ->> 'sub'), ''), 'unknown');
begin
    perform fn_require_admin();
    if p_paused is null then
        raise exception 'p_paused must be true or false' using errcode = 'invalid_parameter_value';
    end if;
    if p_paused then
        return fn_tenant_pause(p_tenant_id, p_reason, v_actor);
    end if;
    return fn_tenant_resume(p_tenant_id, v_actor);
end
$$;

select public.fn_privileges_set(
    'function public.fn_tenant_set_paused(text, boolean, text)',
    'execute', 'authenticated', 'service_role');
