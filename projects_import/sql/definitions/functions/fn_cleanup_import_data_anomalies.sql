-- fn_cleanup_import_data_anomalies — retention step: delete one chunk (the oldest first) of
-- the occurrences created before p_cutoff, skipping rows another transaction holds, and count
-- them per tenant and day in import_retention_stats. Returns how many went.
create or replace function public.fn_cleanup_import_data_anomalies(
    p_cutoff timestamptz, p_chunk_size integer)
    returns integer
    language plpgsql
    set search_path = public, pg_temp
    as $$
declare
    v_count integer;
begin
    with doomed as (
        select tenant_id, id
          from import_anomalies
         where created_at < p_cutoff
         order by created_at
         limit p_chunk_size
           for update skip locked
    ), deleted as (
        delete from import_anomalies a
         using doomed d
         where a.tenant_id = d.tenant_id and a.id = d.id
        returning a.tenant_id, a.created_at
    ), counted as (
        insert into import_retention_stats as s (tenant_id, stat_date, import_anomalies_count)
        select tenant_id, (created_at at time zone 'UTC')::date, count(*)
          from deleted
         group by 1, 2
        on conflict (tenant_id, stat_date) do update
           set import_anomalies_count = s.import_anomalies_count
                                        + excluded.import_anomalies_count,
               last_updated_at = now()
        returning 1
    )
    select count(*) into v_count from deleted;
    return v_count;
end
$$;

select public.fn_privileges_set(
    'function public.fn_cleanup_import_data_anomalies(timestamptz, integer)',
    'execute', 'service_role');
