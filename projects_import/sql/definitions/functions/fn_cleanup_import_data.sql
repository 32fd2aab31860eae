-- fn_cleanup_import_data — retention (the runbook's daily job): deletes what is older than its
-- retention, chunk by chunk (each step at most p_chunk_size rows, at most p_max_chunks rounds,
-- null: until done), counting what went per tenant and day in import_retention_stats. Each
-- round runs the steps in this order: occurrences, then unlinking and deleting staged batches
-- (a batch's occurrences lose their link before it goes, never waiting on an import, so the
-- two cannot deadlock), requests, resolved problems nothing points at, alert deliveries.
-- p_imports_days applies to batches, requests and deliveries, p_anomalies_days to occurrences
-- and problems; 0 keeps nothing.
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
        v_chunk_anomalies := fn_cleanup_import_data_anomalies(v_anomalies_cutoff, p_chunk_size);
        v_chunk_unlinked := fn_cleanup_import_data_unlink(v_imports_cutoff, p_chunk_size);
        v_chunk_imports := fn_cleanup_import_data_staging(v_imports_cutoff, p_chunk_size);
        v_chunk_requests := fn_cleanup_import_data_requests(v_imports_cutoff, p_chunk_size);
        v_chunk_problems := fn_cleanup_import_data_problems(v_anomalies_cutoff, p_chunk_size);
        v_chunk_deliveries := fn_cleanup_import_data_deliveries(v_imports_cutoff, p_chunk_size);

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

select public.fn_privileges_set(
    'function public.fn_cleanup_import_data(integer, integer, integer, integer)',
    'execute', 'service_role');
