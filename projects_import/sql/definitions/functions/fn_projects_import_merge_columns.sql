-- fn_projects_import_merge_columns — the merge of one batch, given as one array per column
-- (blank text and dates are null, missing counts 0, as in the jsonb form), in its named steps;
-- each step is a function of its own, in this order, in this transaction, under the tenant's
-- import lock; the problems it writes are locked up front in id order
-- (fn_import_batch_problems_lock) before the first is written. Returns the batch's metrics,
-- memoized on its staging row. Every array has one element per row (22023 otherwise).
-- p_excerpt, when given, is each row's payload_excerpt; else a row with a miss gets its values
-- as jsonb text (the normalized row the service sends, blanks as ""), cut to 500 characters.
create or replace function public.fn_projects_import_merge_columns(
    p_tenant_id                  text,
    p_source                     text,
    p_batch_id                   uuid,
    p_correlation_id             uuid,
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
    p_stage_application_created  text[],
    p_excerpt                    text[] default null
) returns jsonb
    language plpgsql
    set search_path = public, pg_temp
    as $$
declare
    v_size         integer := cardinality(p_stage_application);
    v_staging_id   uuid;
    v_first_merge  boolean := false;
    v_rows         integer;
    v_projects     record;
    v_sync         jsonb;
    v_misses       record;
    v_resolved     integer;
    v_metrics      jsonb;
begin
    if v_size is null then
        raise exception 'fn_projects_import_merge_columns: stage_application must be an array'
            using errcode = '22023';
    end if;
    if v_size <> any (array[
            cardinality(p_delivery_partner), cardinality(p_developer_class),
            cardinality(p_relationship_manager), cardinality(p_deployment_specialist),
            cardinality(p_rm_preferred_username), cardinality(p_residential),
            cardinality(p_commercial), cardinality(p_essential), cardinality(p_premises_count),
            cardinality(p_stage_application_created),
            coalesce(cardinality(p_excerpt), v_size)]) is not false then
        raise exception 'fn_projects_import_merge_columns: every column needs % values', v_size
            using errcode = '22023';
    end if;

    perform public.fn_projects_import_lock(p_tenant_id);

    -- A staged batch without memoized metrics is merged for the first time: none of its
    -- misses can have been recorded yet, so the per-miss check is skipped -- unless
    -- occurrences of its batch_id outlived its staged copy (retention keeps anomalies longer;
    -- a retry of a batch it removed is staged again, 0034).
    select id, not (validation ? 'metrics') into v_staging_id, v_first_merge
      from staging_imports
     where tenant_id = p_tenant_id and batch_id = p_batch_id;
    v_first_merge := coalesce(v_first_merge, false)
                     and not exists (select 1 from import_anomalies ia
                                      where ia.tenant_id = p_tenant_id
                                        and ia.batch_id = p_batch_id);

    v_rows := fn_projects_import_merge_stage(
        p_tenant_id, p_stage_application, p_delivery_partner, p_developer_class,
        p_relationship_manager, p_deployment_specialist, p_rm_preferred_username,
        p_residential, p_commercial, p_essential, p_premises_count,
        p_stage_application_created, p_excerpt);
    v_projects := fn_projects_import_merge_upsert_projects(
        p_tenant_id, p_source, p_batch_id, p_correlation_id);
    v_sync := fn_projects_sync_memberships(p_batch_id);
    v_misses := fn_projects_import_merge_find_misses(p_tenant_id, p_batch_id, v_first_merge);
    perform fn_import_batch_problems_lock(p_tenant_id);  -- in id order, before any write
    if v_misses.o_fresh > 0 then
        perform fn_projects_import_merge_upsert_problems(p_tenant_id, p_batch_id);
        perform fn_projects_import_merge_record_occurrences(
            p_tenant_id, p_batch_id, v_staging_id, p_correlation_id);
    end if;
    v_resolved := fn_projects_import_merge_resolve_fixed(p_tenant_id);

    v_metrics := jsonb_build_object(
        'rows', v_rows,
        'inserted_projects', v_projects.o_inserted,
        'updated_projects', v_projects.o_updated,
        'unchanged_projects', v_rows - v_projects.o_inserted - v_projects.o_updated,
        'org_memberships_upserted', (v_sync ->> 'org_added')::integer,
        'user_memberships_upserted', (v_sync ->> 'user_added')::integer,
        'memberships_ended', (v_sync ->> 'org_ended')::integer
                             + (v_sync ->> 'user_ended')::integer,
        'anomalies_count', v_misses.o_misses,
        'anomalies_resolved', v_resolved,
        'staging_id', v_staging_id);
    perform fn_projects_import_merge_memoize(p_tenant_id, v_staging_id, p_correlation_id,
                                             v_metrics);
    return v_metrics;
end
$$;

select public.fn_privileges_set(
    'function public.fn_projects_import_merge_columns(text, text, uuid, uuid, text[], text[], '
    'text[], text[], text[], text[], integer[], integer[], integer[], integer[], text[], text[])',
    'execute', 'service_role');
