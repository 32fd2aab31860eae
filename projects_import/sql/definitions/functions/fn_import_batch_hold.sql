-- fn_import_batch_hold(tenant, batch, metrics, audit) — after the merge was rolled back: mark
-- the staged batch held with what publishing would do, record the decision, answer 'held'.
create or replace function public.fn_import_batch_hold(p_tenant_id text, p_batch_id uuid,
                                            p_metrics jsonb, p_audit jsonb)
    returns jsonb
    language plpgsql
    set search_path = public, pg_temp
    as $$
declare
    v_staging_id  uuid;
begin
    update staging_imports
       set batch_state = 'held',
           validation = validation || jsonb_build_object(
               'held', jsonb_build_object('metrics', p_metrics, 'audit', p_audit))
     where tenant_id = p_tenant_id and batch_id = p_batch_id
    returning id into v_staging_id;
    insert into import_batch_decisions (tenant_id, staging_id, batch_id, decision, actor,
                                        details)
    values (p_tenant_id, v_staging_id, p_batch_id, 'held', 'system',
            jsonb_build_object('findings', p_audit -> 'findings'));
    return jsonb_build_object('outcome', 'held', 'batch_id', p_batch_id,
                              'staging_id', v_staging_id, 'metrics', p_metrics,
                              'audit', p_audit);
end
$$;

select public.fn_privileges_set(
    'function public.fn_import_batch_hold(text, uuid, jsonb, jsonb)',
    'execute', 'service_role');
