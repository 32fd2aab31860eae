-- fn_import_problems_lock — the global lock order for problems: locks the given problems
-- (`for update`) by id ascending, all up front, and returns how many it locked. Every path that
-- locks several problems (a bulk acknowledge/resolve, the merge, the backfill, a directory
-- fix) calls it before it writes them, so two such paths wait for each other in turn, never in
-- a cycle (SQLSTATE 40P01). A problem is locked before its occurrences.
create or replace function public.fn_import_problems_lock(p_ids bigint[]) returns integer
    language sql volatile
    set search_path = public, pg_temp
    as $$
    select count(*)::integer
      from (select pr.id from public.import_problems pr
             where pr.id = any (p_ids)
             order by pr.id
               for update) locked
$$;

select public.fn_privileges_set('function public.fn_import_problems_lock(bigint[])', 'execute',
                                'service_role');
