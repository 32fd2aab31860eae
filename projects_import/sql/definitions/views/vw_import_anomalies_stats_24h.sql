-- vw_import_anomalies_stats_24h — the overview's counts (0005), from the rollups;
-- security_invoker, so RLS applies as before.
create or replace view public.vw_import_anomalies_stats_24h with (security_invoker = true) as
select r.tenant_id, r.anomaly_type, r.severity, sum(r.occurrences)::bigint as count,
       sum(r.unresolved)::bigint as unresolved, max(r.created_at) as last_seen_at
  from public.import_anomaly_rollups r
 where r.created_at >= now() - interval '24 hours'
 group by 1, 2, 3
having sum(r.occurrences) > 0;

select public.fn_privileges_set(
    'table public.vw_import_anomalies_stats_24h',
    'select', 'authenticated', 'service_role');
