-- fn_projects_import_submit_columns — fn_projects_import_submit with the rows as columns
-- (fn_projects_import_merge_columns): what the import service calls. Same audit hook.
create or replace function public.fn_projects_import_submit_columns(
    p_tenant_id                  text,
    p_source                     text,
    p_batch_id                   uuid,
    p_batch_checksum             text,
    p_checksum_version           smallint,
    p_raw                        jsonb,
    p_correlation_id             uuid,
    p_validation                 jsonb,
    p_stage_application          text[],
    p_delivery_partner           text[],
    p_developer_class            text[],
    p_relationship_manager       text[],
    p_deployment_specialist      text[],
    p_rm_preferred_username      text[],
    p_residential                integer[],
    p_commercial                 integer[],
    p_essential                  integer[],
    p_premises_count             integer[],
    p_stage_application_created  text[]
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
                                         p_checksum_version, p_raw,
                                         coalesce(cardinality(p_stage_application), 0),
                                         p_correlation_id, p_validation);
    if v_answer is not null then
        return fn_import_batch_resent(p_tenant_id, v_answer);  -- audit hook (0037)
    end if;
    -- audit hook (0037): merge in a savepoint, measure, roll back and hold when over a limit
    v_before := fn_import_audit_before(p_tenant_id, p_stage_application);
    begin
        v_metrics := fn_projects_import_merge_columns(
            p_tenant_id, p_source, p_batch_id, p_correlation_id, p_stage_application,
            p_delivery_partner, p_developer_class, p_relationship_manager,
            p_deployment_specialist, p_rm_preferred_username, p_residential, p_commercial,
            p_essential, p_premises_count, p_stage_application_created);
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
    'function public.fn_projects_import_submit_columns(text, text, uuid, text, smallint, jsonb, '
    'uuid, jsonb, text[], text[], text[], text[], text[], text[], integer[], integer[], '
    'integer[], integer[], text[])',
    'execute', 'service_role');
