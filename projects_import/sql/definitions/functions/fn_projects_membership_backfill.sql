-- The runbook's form (every project, of one tenant when given) runs the same body.
create or replace function public.fn_projects_membership_backfill(
    p_tenant_id text default null
) returns jsonb
    language sql
    set search_path = public, pg_temp
    as $$ select public.fn_projects_membership_backfill(p_tenant_id, null::text[]) $$;

select public.fn_privileges_set('function public.fn_projects_membership_backfill(text)', 'execute',
                                'service_role');

create or replace function public.fn_projects_membership_backfill(
    p_tenant_id     text,
    p_project_keys  text[]
) returns jsonb
    language plpgsql
    set search_path = public, pg_temp
    as $$
declare
    v_tenant      text;
    v_projects    integer;
    v_sync        jsonb;
    v_resolved    integer;
    v_loose       integer;
begin
    if p_tenant_id is not null
       and not exists (select 1 from tenants where tenant_id = p_tenant_id) then
        raise exception 'fn_projects_membership_backfill: unknown tenant %', p_tenant_id
            using errcode = '22023';
    end if;
    if p_project_keys is not null and p_tenant_id is null then
        raise exception 'fn_projects_membership_backfill: project keys need a tenant'
            using errcode = '22023';
    end if;

    for v_tenant in
        select tenant_id from tenants
         where p_tenant_id is null or tenant_id = p_tenant_id
         order by tenant_id
    loop
        perform fn_projects_import_lock(v_tenant);
    end loop;

    v_projects := 0;
    for v_tenant in
        select tenant_id from tenants
         where p_tenant_id is null or tenant_id = p_tenant_id
         order by tenant_id
    loop
        -- the batch rule over the tenant's projects: each distinct value looked up once
        with listed as materialized (
            select row_number() over (order by p.stage_application) as ord,
                   p.stage_application, p.delivery_partner, p.deployment_specialist,
                   p.relationship_manager, p.rm_preferred_username
              from projects p
             where p.tenant_id = v_tenant
               and (p_project_keys is null or p.stage_application = any (p_project_keys))
        ), resolved as (
            select l.stage_application, c.partner_org, c.ds_username, c.rm_username
              from listed l
              join fn_projects_resolve_canonical_batch(
                       v_tenant,
                       array(select x.delivery_partner from listed x order by x.ord),
                       array(select x.deployment_specialist from listed x order by x.ord),
                       array(select x.relationship_manager from listed x order by x.ord),
                       array(select x.rm_preferred_username from listed x order by x.ord)) c
                on c.ord = l.ord
        ), changed as (
            update projects p
               set partner_org = r.partner_org,
                   ds_username = r.ds_username,
                   rm_username = r.rm_username,
                   updated_at = now()
              from resolved r
             where p.tenant_id = v_tenant
               and p.stage_application = r.stage_application
               and (p.partner_org, p.ds_username, p.rm_username)
                   is distinct from (r.partner_org, r.ds_username, r.rm_username)
            returning 1
        )
        select v_projects + count(*) into v_projects from changed;
    end loop;

    insert into organizations (tenant_id, name)
    select distinct p.tenant_id, p.partner_org
      from projects p
     where p.partner_org is not null
       and (p_tenant_id is null or p.tenant_id = p_tenant_id)
       and (p_project_keys is null or p.stage_application = any (p_project_keys))
    on conflict do nothing;

    perform fn_projects_membership_sync_table();
    insert into pg_temp.membership_sync
    select p.tenant_id, p.stage_application, p.partner_org, p.ds_username, p.rm_username
      from projects p
     where (p_tenant_id is null or p.tenant_id = p_tenant_id)
       and (p_project_keys is null or p.stage_application = any (p_project_keys));
    v_sync := fn_projects_sync_memberships(null);

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

    return jsonb_build_object(
        'projects_updated', v_projects,
        'org_memberships_added', (v_sync ->> 'org_added')::integer,
        'user_memberships_added', (v_sync ->> 'user_added')::integer,
        'org_memberships_ended', (v_sync ->> 'org_ended')::integer,
        'user_memberships_ended', (v_sync ->> 'user_ended')::integer,
        'memberships_ended', (v_sync ->> 'org_ended')::integer
                             + (v_sync ->> 'user_ended')::integer,
        'anomalies_resolved', v_resolved + v_loose);
end
$$;

select public.fn_privileges_set('function public.fn_projects_membership_backfill(text, text[])', 'execute',
                                'service_role');
