-- fn_projects_import_merge (SPEC §5.3) — the jsonb rows read into columns (the same parsing
-- as 0016: trimmed, blank is null, counts cast to integer, missing counts 0) with each row's
-- JSON as its excerpt, merged by fn_projects_import_merge_columns.
create or replace function public.fn_projects_import_merge(
    tenant_id       text,
    source          text,
    batch_id        uuid,
    rows            jsonb,
    correlation_id  uuid
) returns jsonb
    language plpgsql
    set search_path = public, pg_temp
    as $$
declare
    v_columns  record;
begin
    if fn_projects_import_merge.rows is null
       or jsonb_typeof(fn_projects_import_merge.rows) <> 'array' then
        raise exception 'fn_projects_import_merge: rows must be a JSON array'
            using errcode = '22023';
    end if;
    select coalesce(array_agg(e.r ->> 'stage_application' order by e.ord), '{}')
               as stage_application,
           coalesce(array_agg(e.r ->> 'delivery_partner' order by e.ord), '{}')
               as delivery_partner,
           coalesce(array_agg(e.r ->> 'developer_class' order by e.ord), '{}')
               as developer_class,
           coalesce(array_agg(e.r ->> 'relationship_manager' order by e.ord), '{}')
               as relationship_manager,
           coalesce(array_agg(e.r ->> 'deployment_specialist' order by e.ord), '{}')
               as deployment_specialist,
           coalesce(array_agg(e.r ->> 'rm_preferred_username' order by e.ord), '{}')
               as rm_preferred_username,
           coalesce(array_agg(nullif(btrim(e.r ->> 'residential'), '')::integer
                              order by e.ord), '{}') as residential,
           coalesce(array_agg(nullif(btrim(e.r ->> 'commercial'), '')::integer
                              order by e.ord), '{}') as commercial,
           coalesce(array_agg(nullif(btrim(e.r ->> 'essential'), '')::integer
                              order by e.ord), '{}') as essential,
           coalesce(array_agg(nullif(btrim(e.r ->> 'premises_count'), '')::integer
                              order by e.ord), '{}') as premises_count,
           coalesce(array_agg(e.r ->> 'stage_application_created' order by e.ord), '{}')
               as stage_application_created,
           coalesce(array_agg(left(e.r::text, 500) order by e.ord), '{}') as excerpt
      into v_columns
      from jsonb_array_elements(fn_projects_import_merge.rows) with ordinality as e(r, ord);

    return fn_projects_import_merge_columns(
        fn_projects_import_merge.tenant_id, fn_projects_import_merge.source,
        fn_projects_import_merge.batch_id, fn_projects_import_merge.correlation_id,
        v_columns.stage_application, v_columns.delivery_partner, v_columns.developer_class,
        v_columns.relationship_manager, v_columns.deployment_specialist,
        v_columns.rm_preferred_username, v_columns.residential, v_columns.commercial,
        v_columns.essential, v_columns.premises_count, v_columns.stage_application_created,
        v_columns.excerpt);
end
$$;

select public.fn_privileges_set(
    'function public.fn_projects_import_merge(text, text, uuid, jsonb, uuid)',
    'execute', 'service_role');
