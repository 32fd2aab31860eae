-- fn_projects_import_submit (0012) — same signature and answers; staging is
-- fn_projects_import_stage's.
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
begin
    v_answer := fn_projects_import_stage(p_tenant_id, p_source, p_batch_id, p_batch_checksum,
                                         p_checksum_version, p_raw, jsonb_array_length(p_rows),
                                         p_correlation_id, p_validation);
    if v_answer is not null then
        return v_answer;
    end if;
    v_metrics := fn_projects_import_merge(p_tenant_id, p_source, p_batch_id, p_rows,
                                          p_correlation_id);
    return jsonb_build_object('outcome', 'merged', 'batch_id', p_batch_id,
                              'staging_id', v_metrics -> 'staging_id', 'metrics', v_metrics);
end
$$;

select public.fn_privileges_set('function public.fn_projects_import_submit(text, text, uuid, text, smallint, jsonb, jsonb, uuid, jsonb)', 'execute',
                                'service_role');
