-- fn_import_anomalies_lock — the global lock order for occurrences (import_anomalies): locks
-- the given ones (`for update`) by id ascending, all up front; returns how many. For paths
-- that write several occurrences without a problem (the backfill's loose occurrences);
-- occurrences of a problem are written only by a path that holds the problem.
create or replace function public.fn_import_anomalies_lock(p_ids bigint[]) returns integer
    language sql volatile
    set search_path = public, pg_temp
    as $$
    select count(*)::integer
      from (select a.id from public.import_anomalies a
             where a.id = any (p_ids)
             order by a.id
               for update) locked
$$;

select public.fn_privileges_set('function public.fn_import_anomalies_lock(bigint[])', 'execute',
                                'service_role');
