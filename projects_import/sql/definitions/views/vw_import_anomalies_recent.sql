-- Recent-window view: the last 14 days of anomalies, newest first when ordered by
-- (created_at desc, id desc), which the import_anomalies_created index serves.
create or replace view public.vw_import_anomalies_recent with (security_invoker = true) as
    select a.id, a.tenant_id, a.batch_id, a.staging_id, a.row_index, a.project_key,
           a.anomaly_type, a.severity, a.payload_excerpt, a.correlation_id, a.created_at,
           a.status, a.acknowledged_at, a.acknowledged_by, a.resolved_at
      from public.import_anomalies a
     where a.created_at >= now() - interval '14 days';

select public.fn_privileges_set(
    'table public.vw_import_anomalies_recent',
    'select', 'authenticated', 'service_role');
