-- fn_projects_import_merge_record_occurrences — merge step: record occurrences. Each fresh
-- miss becomes a row of import_anomalies (its drawn id, its problem, the problem's status).
create or replace function public.fn_projects_import_merge_record_occurrences(
    p_tenant_id text, p_batch_id uuid, p_staging_id uuid, p_correlation_id uuid)
    returns void
    language plpgsql
    set search_path = public, pg_temp
    as $$
begin
    insert into import_anomalies (id, tenant_id, batch_id, staging_id, row_index,
                                  project_key, anomaly_type, severity, payload_excerpt,
                                  correlation_id, problem_id, status, acknowledged_at,
                                  acknowledged_by)
    overriding system value
    select a.anomaly_id, p_tenant_id, p_batch_id, p_staging_id, a.row_index, a.project_key,
           a.anomaly_type, a.severity, a.excerpt, p_correlation_id, a.problem_id, a.status,
           a.acknowledged_at, a.acknowledged_by
      from pg_temp.import_batch_misses a
     where a.fresh;
end
$$;

select public.fn_privileges_set(
    'function public.fn_projects_import_merge_record_occurrences(text, uuid, uuid, uuid)',
    'execute', 'service_role');
