-- fn_cleanup_import_data — as in 0012 (same signature, chunks and answer), except that a staged
-- batch's occurrences are unlinked before it is deleted, in bounded steps that skip rows an
-- import holds (the foreign key's on delete set null waited on them, and could deadlock with
-- an import resolving the same problems' occurrences).
create or replace function public.fn_cleanup_import_data(
    p_imports_days    integer default 60,
    p_anomalies_days  integer default 90,
    p_chunk_size      integer default 5000,
    p_max_chunks      integer default null
) returns jsonb
    language plpgsql
    set search_path = public, pg_temp
    as $$
declare
    v_imports_cutoff    timestamptz;
    v_anomalies_cutoff  timestamptz;
    v_imports           bigint := 0;
    v_anomalies         bigint := 0;
    v_requests          bigint := 0;
    v_problems          bigint := 0;
    v_deliveries        bigint := 0;
    v_chunk_imports     integer;
    v_chunk_unlinked    integer;
    v_chunk_anomalies   integer;
    v_chunk_requests    integer;
    v_chunk_problems    integer;
    v_chunk_deliveries  integer;
    v_has_deliveries    boolean := to_regclass('public.alert_deliveries') is not null;
    v_chunks            integer := 0;
    v_more              boolean := true;
begin
    if p_imports_days is null or p_imports_days < 0
       or p_anomalies_days is null or p_anomalies_days < 0 then
        raise exception 'fn_cleanup_import_data: retention days must be 0 or more'
            using errcode = '22023';
    end if;
    if p_chunk_size is null or p_chunk_size < 1 or p_max_chunks < 1 then
        raise exception 'fn_cleanup_import_data: chunk size and max chunks must be 1 or more'
            using errcode = '22023';
    end if;

    v_imports_cutoff := case when p_imports_days = 0 then 'infinity'::timestamptz
                             else now() - make_interval(days => p_imports_days) end;
    v_anomalies_cutoff := case when p_anomalies_days = 0 then 'infinity'::timestamptz
                               else now() - make_interval(days => p_anomalies_days) end;

    while v_more and (p_max_chunks is null or v_chunks < p_max_chunks) loop
        with doomed as (
            select tenant_id, id
              from import_anomalies
             where created_at < v_anomalies_cutoff
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
        select count(*) into v_chunk_anomalies from deleted;

        -- A staged batch's occurrences lose their link before it goes, p_chunk_size at a
        -- time and never waiting on an occurrence an import holds: retention waits on no
        -- import, so the two cannot deadlock. A batch with occurrences still linked stays
        -- for a later chunk or run.
        with due as (
            select tenant_id, id, batch_id
              from staging_imports
             where created_at < v_imports_cutoff
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
        get diagnostics v_chunk_unlinked = row_count;

        with doomed as (
            select s.tenant_id, s.id
              from staging_imports s
             where s.created_at < v_imports_cutoff
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
        select count(*) into v_chunk_imports from deleted;

        with doomed as (
            select tenant_id, id
              from import_requests
             where created_at < v_imports_cutoff
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
        select count(*) into v_chunk_requests from deleted;

        with doomed as (
            select pr.tenant_id, pr.id
              from import_problems pr
             where pr.status = 'resolved'
               and pr.last_seen_at < v_anomalies_cutoff
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
        select count(*) into v_chunk_problems from deleted;

        v_chunk_deliveries := 0;
        if v_has_deliveries then
            execute $q$
                with doomed as (
                    select tenant_id, id
                      from public.alert_deliveries
                     where created_at < $1
                     order by created_at
                     limit $2
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
                select count(*) from deleted
            $q$ into v_chunk_deliveries using v_imports_cutoff, p_chunk_size;
        end if;

        v_chunks := v_chunks + 1;
        v_anomalies := v_anomalies + v_chunk_anomalies;
        v_imports := v_imports + v_chunk_imports;
        v_requests := v_requests + v_chunk_requests;
        v_problems := v_problems + v_chunk_problems;
        v_deliveries := v_deliveries + v_chunk_deliveries;
        v_more := v_chunk_anomalies = p_chunk_size or v_chunk_imports = p_chunk_size
                  or v_chunk_unlinked = p_chunk_size
                  or v_chunk_requests = p_chunk_size or v_chunk_problems = p_chunk_size
                  or v_chunk_deliveries = p_chunk_size;
    end loop;

    return jsonb_build_object(
        'staging_imports_deleted', v_imports,
        'import_anomalies_deleted', v_anomalies,
        'import_requests_deleted', v_requests,
        'import_problems_deleted', v_problems,
        'alert_deliveries_deleted', v_deliveries,
        'imports_days', p_imports_days,
        'anomalies_days', p_anomalies_days,
        'chunks', v_chunks,
        'complete', not v_more);
end
$$;

select public.fn_privileges_set('function public.fn_cleanup_import_data(integer, integer, integer, integer)', 'execute',
                                'service_role');
