-- fn_directory_partner_set(tenant, alias, canonical, problem_id) — admin: add a partner alias
-- or change its canonical name. Returns {change_id, action, alias_key} (change_id null when
-- nothing changed). Re-resolving the affected projects is done by fn_directory_fix_apply.
create or replace function public.fn_directory_partner_set(
    p_tenant_id text, p_alias text, p_canonical text, p_problem_id bigint default null)
    returns jsonb
    language plpgsql
    security definer
    set search_path = public, pg_temp
    as $$
declare
    v_alias     text := btrim(p_alias);
    v_canonical text := btrim(p_canonical);
    v_before    partner_normalization;
    v_after     partner_normalization;
    v_action    text;
begin
    perform fn_require_admin();
    perform fn_directory_check_tenant(p_tenant_id);
    if fn_directory_key(v_alias) is null or fn_directory_key(v_canonical) is null then
        raise exception 'alias and canonical must not be blank' using errcode = '22023';
    end if;
    if char_length(v_alias) > 256 or char_length(v_canonical) > 256 then
        raise exception 'alias and canonical must be at most 256 characters'
            using errcode = '22023';
    end if;

    select * into v_before from partner_normalization
     where tenant_id = p_tenant_id and alias_key = fn_directory_key(v_alias)
       for update;
    if found and (v_before.alias, v_before.canonical) = (v_alias, v_canonical) then
        return jsonb_build_object('change_id', null, 'action', null,
                                  'alias_key', v_before.alias_key);
    end if;
    v_action := case when v_before.alias_key is null then 'add' else 'update' end;

    insert into partner_normalization (tenant_id, alias, canonical)
    values (p_tenant_id, v_alias, v_canonical)
    on conflict (tenant_id, alias_key) do update
       set alias = excluded.alias, canonical = excluded.canonical, updated_at = now()
    returning * into v_after;

    return jsonb_build_object(
        'change_id', fn_directory_audit(
            p_tenant_id, v_action, 'partners',
            case when v_action = 'update'
                 then jsonb_build_object('alias', v_before.alias,
                                         'canonical', v_before.canonical) end,
            jsonb_build_object('alias', v_after.alias, 'canonical', v_after.canonical),
            p_problem_id),
        'action', v_action, 'alias_key', v_after.alias_key);
end
$$;

select public.fn_privileges_set(
    'function public.fn_directory_partner_set(text, text, text, bigint)',
    'execute', 'authenticated', 'service_role');
