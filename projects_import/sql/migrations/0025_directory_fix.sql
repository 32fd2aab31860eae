-- 0025 — One-click directory fixes (issue 8): re-resolve just the projects a directory change
-- affects, at once, with the backfill's rules.
--
--   fn_projects_membership_backfill(p_tenant_id text, p_project_keys text[]) — the backfill
--     (0012) for some projects of one tenant (p_project_keys null: all of them). It is now the
--     one implementation: the one-argument form runs it with p_project_keys null.
--   fn_directory_change_apply(p_tenant_id, p_change_id) — admin: re-resolve the projects the
--     audited directory change touches (their partner / DS / RM value matches a value of the
--     row before or after the change), resolve the problems that no longer apply as
--     directory_fix, and record the effect on the change:
--     {projects, problems_resolved, projects_updated, memberships added/ended, …}.
-- And for 0024 under the explicit privileges of 0010: fn_directory_suggestions runs as its
-- owner (it checks the operator role itself), as operators may not call the directory key and
-- pg_trgm functions directly; service_role counts as an admin, as it counts as an operator;
-- service_role reads the audit.

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

    create temp table if not exists backfill_scope (
        tenant_id          text not null,
        stage_application  text not null
    ) on commit drop;
    truncate pg_temp.backfill_scope;
    insert into pg_temp.backfill_scope
    select p.tenant_id, p.stage_application
      from projects p
     where (p_tenant_id is null or p.tenant_id = p_tenant_id)
       and (p_project_keys is null or p.stage_application = any (p_project_keys));

    with resolved as (
        select p.tenant_id, p.stage_application, c.partner_org, c.ds_username, c.rm_username
          from projects p
          join pg_temp.backfill_scope s using (tenant_id, stage_application)
          cross join lateral fn_projects_resolve_canonical(
                p.tenant_id, p.delivery_partner, p.deployment_specialist,
                p.relationship_manager, p.rm_preferred_username) c
    ), changed as (
        update projects p
           set partner_org = r.partner_org,
               ds_username = r.ds_username,
               rm_username = r.rm_username,
               updated_at = now()
          from resolved r
         where p.tenant_id = r.tenant_id
           and p.stage_application = r.stage_application
           and (p.partner_org, p.ds_username, p.rm_username)
               is distinct from (r.partner_org, r.ds_username, r.rm_username)
        returning 1
    )
    select count(*) into v_projects from changed;

    insert into organizations (tenant_id, name)
    select distinct p.tenant_id, p.partner_org
      from projects p
      join pg_temp.backfill_scope s using (tenant_id, stage_application)
     where p.partner_org is not null
    on conflict do nothing;

    perform fn_projects_membership_sync_table();
    insert into pg_temp.membership_sync
    select p.tenant_id, p.stage_application, p.partner_org, p.ds_username, p.rm_username
      from projects p
      join pg_temp.backfill_scope s using (tenant_id, stage_application);
    v_sync := fn_projects_sync_memberships(null);

    with fixed as (
        update import_problems pr
           set status = 'resolved', resolved_at = now(), resolved_by = 'system',
               resolution = 'directory_fix'
          from projects p
          join pg_temp.backfill_scope s using (tenant_id, stage_application)
         where pr.tenant_id = p.tenant_id
           and pr.project_key = p.stage_application
           and pr.status <> 'resolved'
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
          join pg_temp.backfill_scope s using (tenant_id, stage_application)
         where ia.tenant_id = p.tenant_id
           and ia.project_key = p.stage_application
           and ia.problem_id is null
           and ia.status <> 'resolved'
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

-- The runbook's form (every project, of one tenant when given) runs the same body.
create or replace function public.fn_projects_membership_backfill(
    p_tenant_id text default null
) returns jsonb
    language sql
    set search_path = public, pg_temp
    as $$ select public.fn_projects_membership_backfill(p_tenant_id, null::text[]) $$;

-- fn_directory_change_apply — see the header. Applying a change again resolves nothing more
-- and leaves the recorded effect as it was.
create or replace function public.fn_directory_change_apply(p_tenant_id text, p_change_id bigint)
    returns jsonb
    language plpgsql
    security definer
    set search_path = public, pg_temp
    as $$
declare
    v_change    directory_changes;
    v_values    text[];
    v_keys      text[];
    v_open      integer;
    v_backfill  jsonb;
    v_effect    jsonb;
begin
    perform fn_require_admin();
    select * into v_change from directory_changes
     where tenant_id = p_tenant_id and id = p_change_id
       for update;
    if not found then
        raise exception 'tenant % has no directory change %', coalesce(p_tenant_id, 'null'),
            coalesce(p_change_id::text, 'null')
            using errcode = 'no_data_found';
    end if;

    -- the directory keys of every value the row had before or has after the change
    select coalesce(array_agg(distinct fn_directory_key(x.value)), '{}') into v_values
      from (values (v_change.before), (v_change.after)) as s(row_json)
      cross join lateral jsonb_each_text(coalesce(s.row_json, '{}'::jsonb)) as x(key, value)
     where x.key in ('alias', 'canonical', 'preferred_username', 'display_name')
       and fn_directory_key(x.value) is not null;

    select coalesce(array_agg(p.stage_application), '{}') into v_keys
      from projects p
     where p.tenant_id = p_tenant_id
       and case v_change.directory
               when 'partners' then fn_directory_key(p.delivery_partner) = any (v_values)
               when 'ds' then fn_directory_key(p.deployment_specialist) = any (v_values)
               else fn_directory_key(p.rm_preferred_username) = any (v_values)
                    or fn_directory_key(p.relationship_manager) = any (v_values)
           end;

    select count(*) into v_open from import_problems pr
     where pr.tenant_id = p_tenant_id and pr.project_key = any (v_keys)
       and pr.status <> 'resolved';

    v_backfill := fn_projects_membership_backfill(p_tenant_id, v_keys);

    select jsonb_build_object('projects', cardinality(v_keys),
                              'problems_resolved', v_open - count(*))
           || v_backfill
      into v_effect
      from import_problems pr
     where pr.tenant_id = p_tenant_id and pr.project_key = any (v_keys)
       and pr.status <> 'resolved';

    -- the change keeps the effect of its first application (the console's, in its transaction)
    update directory_changes
       set effect = v_effect
     where tenant_id = p_tenant_id and id = p_change_id and effect = '{}'::jsonb;
    return v_effect;
end
$$;

revoke execute on function public.fn_projects_membership_backfill(text, text[]),
                           public.fn_directory_change_apply(text, bigint)
    from public;

do $$
begin
    revoke execute on function public.fn_projects_membership_backfill(text, text[])
        from anon, authenticated;
    grant execute on function public.fn_directory_change_apply(text, bigint)
       to authenticated, service_role;
exception
    when undefined_object or insufficient_privilege then null;
end
$$;

-- fn_directory_suggestions checks fn_require_operator() and reads only the directories of the
-- tenant it is given; as its owner it needs no grant on fn_directory_key or pg_trgm.
alter function public.fn_directory_suggestions(text, text, text, integer) security definer;

-- Not used by anything: the suggestions score with similarity() directly.
drop function public.fn_directory_key_similarity(text, text);

-- The trusted server key (service_role) may edit directories like an admin, as it counts as an
-- operator in fn_is_operator (0010).
create or replace function public.fn_is_admin() returns boolean
    language sql stable
    as $$
        select public.fn_jwt_app_role() = 'admin'
            or coalesce(auth.jwt() ->> 'role', '') = 'service_role'
    $$;

do $$
begin
    create policy service_role_read on public.directory_changes
        for select to service_role using (true);
exception
    when undefined_object then null;  -- no service_role on this server
end
$$;
