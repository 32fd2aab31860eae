-- fn_projects_membership_backfill_resolve — backfill step: the open problems of the projects in
-- scope that their values no longer show (a directory now knows the value) are resolved as
-- directory fixes, with their events and occurrences; so are the loose occurrences (without
-- a problem) that no longer apply. Both are locked first, up front in id order
-- (fn_import_problems_lock, fn_import_anomalies_lock). Returns how many occurrences were
-- resolved.
create or replace function public.fn_projects_membership_backfill_resolve(
    p_tenant_id text, p_project_keys text[])
    returns integer
    language plpgsql
    set search_path = public, pg_temp
    as $$
declare
    v_resolved  integer;
    v_loose     integer;
begin
    -- The problems and loose occurrences the steps below resolve, locked up front in id order:
    -- an operator's bulk action on them waits, or is waited for, never both. Same conditions
    -- as the updates (only an operator's resolve changes the set meanwhile: it shrinks it).
    perform fn_import_problems_lock(array(
        select pr.id
          from import_problems pr
          join projects p
            on pr.tenant_id = p.tenant_id and pr.project_key = p.stage_application
         where pr.status <> 'resolved'
           and (p_tenant_id is null or p.tenant_id = p_tenant_id)
           and (p_project_keys is null or p.stage_application = any (p_project_keys))
           and not exists (
                select 1
                  from fn_import_anomaly_misses(p.delivery_partner, p.deployment_specialist,
                                                p.relationship_manager, p.rm_preferred_username,
                                                p.partner_org, p.ds_username, p.rm_username) m
                 where m.anomaly_type = pr.anomaly_type
                   and fn_directory_key(m.unknown_value) = pr.unknown_key)));
    perform fn_import_anomalies_lock(array(
        select ia.id
          from import_anomalies ia
          join projects p
            on ia.tenant_id = p.tenant_id and ia.project_key = p.stage_application
         where ia.problem_id is null and ia.status <> 'resolved'
           and (p_tenant_id is null or p.tenant_id = p_tenant_id)
           and (p_project_keys is null or p.stage_application = any (p_project_keys))
           and not fn_import_anomaly_applies(ia.anomaly_type, p)));

    with fixed as (
        update import_problems pr
           set status = 'resolved', resolved_at = now(), resolved_by = 'system',
               resolution = 'directory_fix'
          from projects p
         where pr.tenant_id = p.tenant_id
           and pr.project_key = p.stage_application
           and pr.status <> 'resolved'
           and (p_tenant_id is null or p.tenant_id = p_tenant_id)
           and (p_project_keys is null or p.stage_application = any (p_project_keys))
           and not exists (
                select 1
                  from fn_import_anomaly_misses(p.delivery_partner, p.deployment_specialist,
                                                p.relationship_manager, p.rm_preferred_username,
                                                p.partner_org, p.ds_username, p.rm_username) m
                 where m.anomaly_type = pr.anomaly_type
                   and fn_directory_key(m.unknown_value) = pr.unknown_key)
        returning pr.tenant_id, pr.id
    ), logged as (
        insert into import_problem_events (tenant_id, problem_id, actor, action, resolution)
        select f.tenant_id, f.id, 'system', 'resolved', 'directory_fix' from fixed f
    ), occurrences as (
        update import_anomalies ia
           set status = 'resolved', resolved_at = now()
          from fixed f
         where ia.tenant_id = f.tenant_id and ia.problem_id = f.id
           and ia.status <> 'resolved'
        returning 1
    )
    select count(*) into v_resolved from occurrences;

    with fixed as (
        update import_anomalies ia
           set status = 'resolved', resolved_at = now()
          from projects p
         where ia.tenant_id = p.tenant_id
           and ia.project_key = p.stage_application
           and ia.problem_id is null
           and ia.status <> 'resolved'
           and (p_tenant_id is null or p.tenant_id = p_tenant_id)
           and (p_project_keys is null or p.stage_application = any (p_project_keys))
           and not fn_import_anomaly_applies(ia.anomaly_type, p)
        returning 1
    )
    select count(*) into v_loose from fixed;

    return v_resolved + v_loose;
end
$$;

select public.fn_privileges_set(
    'function public.fn_projects_membership_backfill_resolve(text, text[])',
    'execute', 'service_role');
