-- 24-hour stats view: counts by tenant, type and severity, with how many are not resolved yet.
create or replace view public.vw_import_anomalies_stats_24h with (security_invoker = true) as
    select a.tenant_id, a.anomaly_type, a.severity,
           count(*) as count,
           count(*) filter (where a.status <> 'resolved') as unresolved,
           max(a.created_at) as last_seen_at
      from public.import_anomalies a
     where a.created_at >= now() - interval '24 hours'
     group by a.tenant_id, a.anomaly_type, a.severity;

select public.fn_privileges_set(
    'table public.vw_import_anomalies_stats_24h',
    'select', 'authenticated', 'service_role');
