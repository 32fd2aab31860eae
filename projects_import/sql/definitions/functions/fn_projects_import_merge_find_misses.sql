-- fn_projects_import_merge_find_misses — merge step: the directory misses of the staged rows
-- (the one rule, fn_import_anomaly_misses) in pg_temp.import_batch_misses. A miss is `fresh`
-- (a new occurrence, with its anomaly id drawn) unless this batch recorded it before; none was
-- on a first merge (p_first_merge). Returns how many misses, and how many are fresh.
create or replace function public.fn_projects_import_merge_find_misses(
    p_tenant_id text, p_batch_id uuid, p_first_merge boolean,
    out o_misses integer, out o_fresh integer)
    language plpgsql
    set search_path = public, pg_temp
    as $$
declare
    v_anomaly_ids regclass := pg_get_serial_sequence('public.import_anomalies', 'id');
begin
    create temp table if not exists pg_temp.import_batch_misses (
        row_index      integer,
        project_key    text,
        anomaly_type   text,
        severity       text,
        excerpt        text,
        unknown_value  text,
        unknown_key    text,
        fresh          boolean,
        reopened       boolean,
        anomaly_id     bigint,
        problem_id     bigint,
        status         text,
        acknowledged_at timestamptz,
        acknowledged_by text
    ) on commit drop;
    truncate pg_temp.import_batch_misses;

    -- a fresh miss draws its anomaly id here, in the order of the rows
    insert into pg_temp.import_batch_misses (row_index, project_key, anomaly_type, severity,
                                             excerpt, unknown_value, unknown_key, fresh,
                                             anomaly_id)
    select f.row_index, f.project_key, f.anomaly_type, f.severity, f.excerpt, f.unknown_value,
           f.unknown_key, f.fresh, case when f.fresh then nextval(v_anomaly_ids) end
      from (select b.row_index, b.stage_application as project_key, m.anomaly_type,
                   m.severity,
                   coalesce(b.excerpt, left(jsonb_build_object(
                       'stage_application', b.stage_application,
                       'delivery_partner', coalesce(b.delivery_partner, ''),
                       'developer_class', coalesce(b.developer_class, ''),
                       'relationship_manager', coalesce(b.relationship_manager, ''),
                       'deployment_specialist', coalesce(b.deployment_specialist, ''),
                       'rm_preferred_username', coalesce(b.rm_preferred_username, ''),
                       'residential', b.residential, 'commercial', b.commercial,
                       'essential', b.essential, 'premises_count', b.premises_count,
                       'stage_application_created',
                       b.stage_application_created)::text, 500)) as excerpt,
                   m.unknown_value, fn_directory_key(m.unknown_value) as unknown_key,
                   p_first_merge
                   or not exists (select 1 from import_anomalies ia
                                   where ia.tenant_id = p_tenant_id
                                     and ia.batch_id = p_batch_id
                                     and ia.row_index = b.row_index
                                     and ia.anomaly_type = m.anomaly_type) as fresh
              from pg_temp.import_batch b
             cross join lateral fn_import_anomaly_misses(
                    b.delivery_partner, b.deployment_specialist, b.relationship_manager,
                    b.rm_preferred_username, b.partner_org, b.ds_username, b.rm_username) m
             order by b.row_index, m.anomaly_type) f;
    get diagnostics o_misses = row_count;
    select count(*) into o_fresh from pg_temp.import_batch_misses where fresh;
    -- statistics of the columns the later steps join and filter on
    analyze pg_temp.import_batch_misses (project_key, anomaly_type, unknown_key, fresh);
end
$$;

select public.fn_privileges_set(
    'function public.fn_projects_import_merge_find_misses(text, uuid, boolean)',
    'execute', 'service_role');
