-- fn_cleanup_import_data_deliveries — retention step: delete one chunk (the oldest first) of
-- the alert deliveries created before p_cutoff, counted per tenant and day. Returns how many.
create or replace function public.fn_cleanup_import_data_deliveries(
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
          from public.alert_deliveries
         where created_at < p_cutoff
         order by created_at
         limit p_chunk_size
           for update skip locked
    ), deleted as (
        delete from public.alert_deliveries x
         using doomed d
         where x.tenant_id = d.tenant_id and x.id = d.id
        returning x.tenant_id, x.created_at
    ), counted as (
        insert into public.import_retention_stats as s
               (tenant_id, stat_date, alert_deliveries_count)
        select tenant_id, (created_at at time zone 'UTC')::date, count(*)
          from deleted
         group by 1, 2
        on conflict (tenant_id, stat_date) do update
           set alert_deliveries_count = s.alert_deliveries_count
                                        + excluded.alert_deliveries_count,
               last_updated_at = now()
        returning 1
    )
    select count(*) into v_count from deleted;
    return v_count;
end
$$;

select public.fn_privileges_set(
    'function public.fn_cleanup_import_data_deliveries(timestamptz, integer)',
    'execute', 'service_role');
