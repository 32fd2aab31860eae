-- fn_cleanup_import_data_requests — retention step: delete one chunk (the oldest first) of
-- the import requests recorded before p_cutoff, counted per tenant and day. Returns how many.
create or replace function public.fn_cleanup_import_data_requests(
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
          from import_requests
         where created_at < p_cutoff
         order by created_at
         limit p_chunk_size
           for update skip locked
    ), deleted as (
        delete from import_requests r
         using doomed d
         where r.tenant_id = d.tenant_id and r.id = d.id
        returning r.tenant_id, r.created_at
    ), counted as (
        insert into import_retention_stats as s (tenant_id, stat_date, import_requests_count)
        select tenant_id, (created_at at time zone 'UTC')::date, count(*)
          from deleted
         group by 1, 2
        on conflict (tenant_id, stat_date) do update
           set import_requests_count = s.import_requests_count
                                       + excluded.import_requests_count,
               last_updated_at = now()
        returning 1
    )
    select count(*) into v_count from deleted;
    return v_count;
end
$$;

select public.fn_privileges_set(
    'function public.fn_cleanup_import_data_requests(timestamptz, integer)',
    'execute', 'service_role');
