-- fn_projects_import_merge_resolve_fixed — merge step: resolve what the batch fixed. An open
-- problem of a staged project that the batch no longer shows is resolved by the system, as a
-- directory fix when the value it named now resolves, else as a data fix; its occurrences are
-- resolved with it. Returns how many occurrences were resolved.
create or replace function public.fn_projects_import_merge_resolve_fixed(p_tenant_id text)
    returns integer
    language plpgsql
    set search_path = public, pg_temp
    as $$
declare
    v_problem_ids  bigint[];
    v_resolved     integer := 0;
begin
    -- Problems of these projects that this batch no longer shows are fixed.
    with fixed as (
        update import_problems pr
           set status = 'resolved', resolved_at = now(), resolved_by = 'system',
               resolution = case
                   when fn_directory_key(fn_import_anomaly_subject(
                            pr.anomaly_type, b.delivery_partner, b.deployment_specialist,
                            b.relationship_manager, b.rm_preferred_username)) = pr.unknown_key
                   then 'directory_fix' else 'data_fix' end
          from pg_temp.import_batch b
         where pr.tenant_id = p_tenant_id
           and pr.project_key = b.stage_application
           and pr.status <> 'resolved'
           and not exists (select 1 from pg_temp.import_batch_misses a
                            where a.project_key = pr.project_key
                              and a.anomaly_type = pr.anomaly_type
                              and a.unknown_key = pr.unknown_key)
        returning pr.id, pr.resolution
    ), logged as (
        insert into import_problem_events (tenant_id, problem_id, actor, action, resolution)
        select p_tenant_id, f.id, 'system', 'resolved', f.resolution from fixed f
    )
    select coalesce(array_agg(f.id), '{}') into v_problem_ids from fixed f;
    if cardinality(v_problem_ids) > 0 then
        update import_anomalies ia
           set status = 'resolved', resolved_at = now()
         where ia.tenant_id = p_tenant_id and ia.problem_id = any (v_problem_ids)
           and ia.status <> 'resolved';
        get diagnostics v_resolved = row_count;
    end if;

    return v_resolved;
end
$$;

select public.fn_privileges_set(
    'function public.fn_projects_import_merge_resolve_fixed(text)',
    'execute', 'service_role');
