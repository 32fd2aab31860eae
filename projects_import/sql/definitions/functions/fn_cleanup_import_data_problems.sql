-- fn_cleanup_import_data_problems — retention step: delete one chunk of the resolved problems
-- last seen before p_cutoff that no occurrence points at any more, counted per tenant and day
-- of their first sighting. Returns how many went.
create or replace function public.fn_cleanup_import_data_problems(
    p_cutoff timestamptz, p_chunk_size integer)
    returns integer
    language plpgsql
    set search_path = public, pg_temp
    as $$
declare
    v_count integer;
begin
    with doomed as (
        select pr.tenant_id, pr.id
          from import_problems pr
         where pr.status = 'resolved'
           and pr.last_seen_at < p_cutoff
           and not exists (select 1 from import_anomalies a
                            where a.tenant_id = pr.tenant_id and a.problem_id = pr.id)
         order by pr.last_seen_at
         limit p_chunk_size
           for update skip locked
    ), deleted as (
        delete from import_problems pr
         using doomed d
         where pr.tenant_id = d.tenant_id and pr.id = d.id
        returning pr.tenant_id, pr.first_seen_at
    ), counted as (
        insert into import_retention_stats as s (tenant_id, stat_date, import_problems_count)
        select tenant_id, (first_seen_at at time zone 'UTC')::date, count(*)
          from deleted
         group by 1, 2
        on conflict (tenant_id, stat_date) do update
           set import_problems_count = s.import_problems_count
                                       + excluded.import_problems_count,
               last_updated_at = now()
        returning 1
    )
    select count(*) into v_count from deleted;
    return v_count;
end
$$;

select public.fn_privileges_set(
    'function public.fn_cleanup_import_data_problems(timestamptz, integer)',
    'execute', 'service_role');
