-- fn_import_batch_reject(tenant, batch, reason, actor) — discard a held batch (it stays staged
-- as rejected, so a re-send is refused). Errors: P0002, 55000 not held, 22023 blank reason.
create or replace function public.fn_import_batch_reject(p_tenant_id text, p_batch_id uuid,
                                              p_reason text, p_actor text)
    returns jsonb
    language plpgsql
    set search_path = public, pg_temp
    as $$
declare
    v_staged  staging_imports%rowtype;
begin
    if nullif(btrim(p_reason), '') is null then
        raise exception 'a reason is required to reject a batch'
            using errcode = 'invalid_parameter_value';
    end if;
    perform fn_projects_import_lock(p_tenant_id);
    select * into v_staged from staging_imports
     where tenant_id = p_tenant_id and batch_id = p_batch_id
       for update;
    if not found then
        raise exception 'no staged batch % for tenant %', p_batch_id, p_tenant_id
            using errcode = 'no_data_found';
    end if;
    if v_staged.batch_state <> 'held' then
        raise exception 'batch % is %, not held', p_batch_id, v_staged.batch_state
            using errcode = 'object_not_in_prerequisite_state';
    end if;
    update staging_imports set batch_state = 'rejected'
     where tenant_id = p_tenant_id and id = v_staged.id;
    insert into import_batch_decisions (tenant_id, staging_id, batch_id, decision, actor,
                                        reason)
    values (p_tenant_id, v_staged.id, p_batch_id, 'rejected',
            coalesce(nullif(btrim(p_actor), ''), 'unknown'), left(btrim(p_reason), 500));
    return jsonb_build_object('batch_id', p_batch_id, 'staging_id', v_staged.id,
                              'batch_state', 'rejected');
end
$$;

select public.fn_privileges_set(
    'function public.fn_import_batch_reject(text, uuid, text, text)',
    'execute', 'service_role');
