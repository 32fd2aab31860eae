-- fn_cleanup_import_data_staging — retention step: delete one chunk (the oldest first) of the
-- batches staged before p_cutoff whose occurrences are all unlinked, skipping rows another
-- transaction holds, counted per tenant and day. Returns how many went.
create or replace function public.fn_cleanup_import_data_staging(
    p_cutoff timestamptz, p_chunk_size integer)
    returns integer
    language plpgsql
    set search_path = public, pg_temp
    as $$
declare
    v_count integer;
begin
    with doomed as (
        select s.tenant_id, s.id
          from staging_imports s
         where s.created_at < p_cutoff
           and not exists (select 1 from import_anomalies a
                            where a.tenant_id = s.tenant_id and a.batch_id = s.batch_id
                              and a.staging_id = s.id)
         order by s.created_at
         limit p_chunk_size
           for update skip locked
    ), deleted as (
        delete from staging_imports i
         using doomed d
         where i.tenant_id = d.tenant_id and i.id = d.id
        returning i.tenant_id, i.created_at
    ), counted as (
        insert into import_retention_stats as s (tenant_id, stat_date, staging_imports_count)
        select tenant_id, (created_at at time zone 'UTC')::date, count(*)
          from deleted
         group by 1, 2
        on conflict (tenant_id, stat_date) do update
           set staging_imports_count = s.staging_imports_count
                                       + excluded.staging_imports_count,
               last_updated_at = now()
        returning 1
    )
    select count(*) into v_count from deleted;
    return v_count;
end
$$;

select public.fn_privileges_set(
    'function public.fn_cleanup_import_data_staging(timestamptz, integer)',
    'execute', 'service_role');
