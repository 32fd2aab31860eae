-- fn_cleanup_import_data_unlink — retention step: unlink from their staged batch one chunk of
-- the occurrences of batches staged before p_cutoff (so the batch may go), never waiting on an
-- occurrence an import holds. Returns how many were unlinked.
create or replace function public.fn_cleanup_import_data_unlink(
    p_cutoff timestamptz, p_chunk_size integer)
    returns integer
    language plpgsql
    set search_path = public, pg_temp
    as $$
declare
    v_count integer;
begin
    -- A staged batch's occurrences lose their link before it goes, p_chunk_size at a
    -- time and never waiting on an occurrence an import holds: retention waits on no
    -- import, so the two cannot deadlock. A batch with occurrences still linked stays
    -- for a later chunk or run.
    with due as (
        select tenant_id, id, batch_id
          from staging_imports
         where created_at < p_cutoff
         order by created_at
         limit p_chunk_size
    ), linked as (
        select a.tenant_id, a.id
          from due d
          join import_anomalies a
            on a.tenant_id = d.tenant_id and a.batch_id = d.batch_id
           and a.staging_id = d.id
         limit p_chunk_size
           for update of a skip locked
    )
    update import_anomalies a
       set staging_id = null
      from linked l
     where a.tenant_id = l.tenant_id and a.id = l.id;
    get diagnostics v_count = row_count;
    return v_count;
end
$$;

select public.fn_privileges_set(
    'function public.fn_cleanup_import_data_unlink(timestamptz, integer)',
    'execute', 'service_role');
