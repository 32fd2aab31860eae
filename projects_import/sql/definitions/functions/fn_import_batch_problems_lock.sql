-- fn_import_batch_problems_lock — merge step: lock, up front and in id order
-- (fn_import_problems_lock), the existing problems the rest of the merge writes: the
-- unresolved problems of the batch's projects (the "fixed" step may resolve them) and the
-- problems of its fresh misses (the upsert counts or reopens them). Reads the merge's
-- pg_temp.import_batch and pg_temp.import_batch_misses; returns how many it locked. The set
-- can only shrink before the lock is granted (an operator's resolve), never grow: new
-- problems and reopening come only from merges, one at a time per tenant.
create or replace function public.fn_import_batch_problems_lock(p_tenant_id text)
    returns integer
    language plpgsql volatile
    set search_path = public, pg_temp
    as $$
begin
    return fn_import_problems_lock(array(
        select pr.id
          from import_problems pr
          join pg_temp.import_batch b on pr.project_key = b.stage_application
         where pr.tenant_id = p_tenant_id and pr.status <> 'resolved'
        union
        select pr.id
          from import_problems pr
          join pg_temp.import_batch_misses a
            on pr.project_key = a.project_key and pr.anomaly_type = a.anomaly_type
           and pr.unknown_key = a.unknown_key
         where pr.tenant_id = p_tenant_id and a.fresh));
end
$$;

select public.fn_privileges_set('function public.fn_import_batch_problems_lock(text)',
                                'execute', 'service_role');
