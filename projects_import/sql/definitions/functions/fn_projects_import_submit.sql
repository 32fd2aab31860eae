-- fn_projects_import_submit (SPEC §5.2, §10) — lock, replay check and staging
-- (fn_projects_import_stage), then the merge (fn_projects_import_merge), the rows as jsonb.
-- Audit hook: the merge runs in a savepoint and is measured against the tenant's limits; over
-- one, it is rolled back and the staged batch held (answer 'held'); a re-send of a held or
-- rejected batch is answered by fn_import_batch_resent.
create or replace function public.fn_projects_import_submit(
    p_tenant_id        text,
    p_source           text,
    p_batch_id         uuid,
    p_batch_checksum   text,
    p_checksum_version smallint,
    p_raw              jsonb,
    p_rows             jsonb,
    p_correlation_id   uuid,
    p_validation       jsonb
) returns jsonb
    language plpgsql
    set search_path = public, pg_temp
    as $$
declare
    v_answer   jsonb;
    v_metrics  jsonb;
    v_before   jsonb;
    v_audit    jsonb;
begin
    v_answer := fn_projects_import_stage(p_tenant_id, p_source, p_batch_id, p_batch_checksum,
                                         p_checksum_version, p_raw, jsonb_array_length(p_rows),
                                         p_correlation_id, p_validation);
    if v_answer is not null then
        return fn_import_batch_resent(p_tenant_id, v_answer);  -- audit hook (0037)
    end if;
    -- audit hook (0037): merge in a savepoint, measure, roll back and hold when over a limit
    v_before := fn_import_audit_before(
        p_tenant_id, array(select r ->> 'stage_application'
                             from jsonb_array_elements(p_rows) r));
    begin
        v_metrics := fn_projects_import_merge(p_tenant_id, p_source, p_batch_id, p_rows,
                                              p_correlation_id);
        v_audit := fn_import_audit_after(p_tenant_id, v_before, v_metrics);
        if (v_audit ->> 'held')::boolean then
            raise exception 'batch held by its audit' using errcode = 'PIHLD';
        end if;
    exception when sqlstate 'PIHLD' then
        return fn_import_batch_hold(p_tenant_id, p_batch_id, v_metrics, v_audit);
    end;
    -- end of audit hook
    return jsonb_build_object('outcome', 'merged', 'batch_id', p_batch_id,
                              'staging_id', v_metrics -> 'staging_id', 'metrics', v_metrics,
                              'audit', v_audit);
end
$$;

select public.fn_privileges_set(
    'function public.fn_projects_import_submit(text, text, uuid, text, smallint, jsonb, jsonb, '
    'uuid, jsonb)',
    'execute', 'service_role');
