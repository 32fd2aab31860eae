-- fn_projects_import_stage — lock the tenant (without waiting), answer busy / paused /
-- replayed (this batch_id already staged with these rows: the same batch again, however late) /
-- batch_conflict (this batch_id with other rows), or stage the batch and answer null (the
-- caller merges it). A new batch_id is always new data, whatever its rows (SPEC §5.2, 0034).
create or replace function public.fn_projects_import_stage(
    p_tenant_id        text,
    p_source           text,
    p_batch_id         uuid,
    p_batch_checksum   text,
    p_checksum_version smallint,
    p_raw              jsonb,
    p_row_count        integer,
    p_correlation_id   uuid,
    p_validation       jsonb
) returns jsonb
    language plpgsql
    set search_path = public, pg_temp
    as $$
declare
    v_staged   staging_imports%rowtype;
    v_tenant   tenants%rowtype;
begin
    if not fn_projects_import_try_lock(p_tenant_id) then
        return jsonb_build_object('outcome', 'busy');
    end if;

    select * into v_tenant from tenants where tenant_id = p_tenant_id;
    if v_tenant.paused_at is not null then
        return jsonb_build_object('outcome', 'paused', 'reason', v_tenant.paused_reason,
                                  'paused_at', v_tenant.paused_at);
    end if;

    select * into v_staged
      from staging_imports
     where tenant_id = p_tenant_id and batch_id = p_batch_id;
    if found and v_staged.batch_checksum = p_batch_checksum then
        return jsonb_build_object(
            'outcome', 'replayed',
            'batch_id', v_staged.batch_id,
            'staging_id', v_staged.id,
            'original_correlation_id', v_staged.correlation_id,
            'metrics', coalesce(v_staged.validation -> 'metrics', '{}'::jsonb)
                       || jsonb_build_object('staging_id', v_staged.id));
    end if;
    if found then
        return jsonb_build_object(
            'outcome', 'batch_conflict',
            'batch_id', v_staged.batch_id,
            'staging_id', v_staged.id,
            'staged_at', v_staged.created_at);
    end if;

    insert into staging_imports (tenant_id, batch_id, source, raw, batch_checksum,
                                 checksum_version, row_count, correlation_id, validation)
    values (p_tenant_id, p_batch_id, p_source, p_raw, p_batch_checksum, p_checksum_version,
            p_row_count, p_correlation_id, coalesce(p_validation, '{}'::jsonb));
    return null;
end
$$;

select public.fn_privileges_set(
    'function public.fn_projects_import_stage(text, text, uuid, text, smallint, jsonb, integer, '
    'uuid, jsonb)',
    'execute', 'service_role');
