-- fn_directory_partner_remove(tenant, alias) — admin: remove a partner alias (aliases have no
-- active flag; the audit keeps the row, so it can be added back).
create or replace function public.fn_directory_partner_remove(p_tenant_id text, p_alias text)
    returns jsonb
    language plpgsql
    security definer
    set search_path = public, pg_temp
    as $$
declare
    v_before partner_normalization;
begin
    perform fn_require_admin();
    perform fn_directory_check_tenant(p_tenant_id);
    delete from partner_normalization
     where tenant_id = p_tenant_id and alias_key = fn_directory_key(p_alias)
    returning * into v_before;
    if not found then
        raise exception 'tenant % has no partner alias %', p_tenant_id, coalesce(p_alias, 'null')
            using errcode = 'no_data_found';
    end if;
    return jsonb_build_object(
        'change_id', fn_directory_audit(
            p_tenant_id, 'remove', 'partners',
            jsonb_build_object('alias', v_before.alias, 'canonical', v_before.canonical), null),
        'action', 'remove', 'alias_key', v_before.alias_key);
end
$$;

select public.fn_privileges_set(
    'function public.fn_directory_partner_remove(text, text)',
    'execute', 'authenticated', 'service_role');
