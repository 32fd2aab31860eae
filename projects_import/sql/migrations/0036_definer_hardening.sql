-- 0036 — SECURITY DEFINER functions no longer trust their caller's session, and no function is
-- executable by PUBLIC unless granted on purpose.
--
-- 1. The definer fn_directory_change_apply (granted to authenticated) called the backfill,
--    which filled `pg_temp.membership_sync` made by `create temp table if not exists`: a caller
--    could create that table first, with a trigger, and the trigger ran as the function's owner.
--    The membership rule now takes its rows as arrays (fn_projects_sync_memberships_rows), and
--    the backfill passes them from `projects` directly: no temp object on the definer path.
--    Replaced, with only these changes to their bodies:
--      fn_projects_sync_memberships(uuid): its body is now one call of the new function with
--        the rows of pg_temp.membership_sync (the merge, which runs as its caller, keeps
--        filling that table; the rule lives in one place);
--      fn_projects_membership_backfill(text, text[]): the three statements that made, filled
--        and synced pg_temp.membership_sync are one call of the new function (same counts).
-- 2. PostgreSQL grants EXECUTE on every new function to PUBLIC unless the creating role's
--    *global* default privileges say otherwise; 0010's `in schema public` form could not
--    remove that grant, so functions without their own revoke (fn_import_anomaly_misses,
--    fn_import_anomaly_subject, fn_projects_resolve_canonical_batch) were callable by anon.
--    The migrating role's global default now revokes it, and every existing function of ours
--    in public loses PUBLIC's EXECUTE; the roles that need one get it explicitly.

create or replace function public.fn_projects_sync_memberships_rows(
    p_batch_id           uuid,
    p_tenant_id          text[],
    p_stage_application  text[],
    p_partner_org        text[],
    p_ds_username        text[],
    p_rm_username        text[]
) returns jsonb
    language plpgsql
    set search_path = public, pg_temp
    as $$
declare
    v_org_ended   integer;
    v_user_ended  integer;
    v_org_added   integer;
    v_user_added  integer;
begin
    with s as (
        select * from unnest(p_tenant_id, p_stage_application, p_partner_org, p_ds_username,
                             p_rm_username)
                      as u(tenant_id, stage_application, partner_org, ds_username, rm_username)
    ), ended as (
        update public.project_org_memberships m
           set ended_at = now(), ended_batch_id = p_batch_id
          from s
         where m.tenant_id = s.tenant_id
           and m.stage_application = s.stage_application
           and m.ended_at is null
           and m.org_name is distinct from s.partner_org
        returning 1
    )
    select count(*) into v_org_ended from ended;

    with s as (
        select * from unnest(p_tenant_id, p_stage_application, p_partner_org, p_ds_username,
                             p_rm_username)
                      as u(tenant_id, stage_application, partner_org, ds_username, rm_username)
    ), ended as (
        update public.project_user_memberships m
           set ended_at = now(), ended_batch_id = p_batch_id
          from s
         where m.tenant_id = s.tenant_id
           and m.stage_application = s.stage_application
           and m.ended_at is null
           and m.username is distinct from
               case m.role when 'deployment_specialist' then s.ds_username
                           else s.rm_username end
        returning 1
    )
    select count(*) into v_user_ended from ended;

    with s as (
        select * from unnest(p_tenant_id, p_stage_application, p_partner_org, p_ds_username,
                             p_rm_username)
                      as u(tenant_id, stage_application, partner_org, ds_username, rm_username)
    ), added as (
        insert into public.project_org_memberships (tenant_id, stage_application, org_name,
                                                    role, batch_id)
        select s.tenant_id, s.stage_application, s.partner_org, 'delivery_partner', p_batch_id
          from s
         where s.partner_org is not null
           and not exists (select 1 from public.project_org_memberships m
                            where m.tenant_id = s.tenant_id
                              and m.stage_application = s.stage_application
                              and m.role = 'delivery_partner'
                              and m.org_name = s.partner_org
                              and m.ended_at is null)
        on conflict (tenant_id, stage_application, role, org_name) where ended_at is null
        do nothing
        returning 1
    )
    select count(*) into v_org_added from added;

    with s as (
        select * from unnest(p_tenant_id, p_stage_application, p_partner_org, p_ds_username,
                             p_rm_username)
                      as u(tenant_id, stage_application, partner_org, ds_username, rm_username)
    ), added as (
        insert into public.project_user_memberships (tenant_id, stage_application, username,
                                                     role, batch_id)
        select s.tenant_id, s.stage_application, u.username, u.role, p_batch_id
          from s
          cross join lateral (values ('deployment_specialist', s.ds_username),
                                     ('relationship_manager', s.rm_username)) as u(role, username)
         where u.username is not null
           and not exists (select 1 from public.project_user_memberships m
                            where m.tenant_id = s.tenant_id
                              and m.stage_application = s.stage_application
                              and m.role = u.role
                              and m.username = u.username
                              and m.ended_at is null)
        on conflict (tenant_id, stage_application, role, username) where ended_at is null
        do nothing
        returning 1
    )
    select count(*) into v_user_added from added;

    return jsonb_build_object('org_ended', v_org_ended, 'user_ended', v_user_ended,
                              'org_added', v_org_added, 'user_added', v_user_added);
end
$$;

-- The merge's form (it runs as its caller, who filled the table in this transaction).
create or replace function public.fn_projects_sync_memberships(p_batch_id uuid default null)
    returns jsonb
    language plpgsql
    set search_path = public, pg_temp
    as $$
begin
    return (select public.fn_projects_sync_memberships_rows(
                       p_batch_id, array_agg(s.tenant_id), array_agg(s.stage_application),
                       array_agg(s.partner_org), array_agg(s.ds_username),
                       array_agg(s.rm_username))
              from pg_temp.membership_sync s);
end
$$;

-- The backfill (run by the definer fn_directory_change_apply): 0027's body, with the rows
-- passed as arrays instead of through pg_temp.membership_sync.
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

    select fn_projects_sync_memberships_rows(
               null, array_agg(p.tenant_id), array_agg(p.stage_application),
               array_agg(p.partner_org), array_agg(p.ds_username), array_agg(p.rm_username))
      into v_sync
      from projects p
     where (p_tenant_id is null or p.tenant_id = p_tenant_id)
       and (p_project_keys is null or p.stage_application = any (p_project_keys));

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

-- The new rule is for the merge and the backfill (the service's own role) only.
revoke all on function
    public.fn_projects_sync_memberships_rows(uuid, text[], text[], text[], text[], text[])
  from public;

do $$
begin
    revoke all on function
        public.fn_projects_sync_memberships_rows(uuid, text[], text[], text[], text[], text[])
      from anon, authenticated;
    grant execute on function
        public.fn_projects_sync_memberships_rows(uuid, text[], text[], text[], text[], text[]),
        public.fn_projects_resolve_canonical_batch(text, text[], text[], text[], text[])
      to service_role;
exception
    when undefined_object or insufficient_privilege then null;
end
$$;

-- 2. No EXECUTE for PUBLIC: on every function the migrating role creates from now on, in any
-- schema (the global form; `in schema` ones can only add to it), and on every function of ours
-- in public today (extension members keep their own privileges). Roles that need a function
-- were granted it by name in the migration that made it (authenticated and service_role keep
-- fn_import_anomaly_subject and fn_import_anomaly_misses, 0011).
alter default privileges revoke execute on functions from public;

do $$
declare
    v_function regprocedure;
begin
    for v_function in
        select p.oid::regprocedure
          from pg_proc p join pg_namespace n on n.oid = p.pronamespace
         where n.nspname = 'public'
           and not exists (select 1 from pg_depend d
                            where d.classid = 'pg_proc'::regclass and d.objid = p.oid
                              and d.deptype = 'e')
    loop
        execute format('revoke execute on routine %s from public', v_function);
    end loop;
end
$$;
