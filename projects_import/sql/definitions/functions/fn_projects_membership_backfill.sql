-- The runbook's form (every project, of one tenant when given) runs the same body.
create or replace function public.fn_projects_membership_backfill(
    p_tenant_id text default null
) returns jsonb
    language sql
    set search_path = public, pg_temp
    as $$ select public.fn_projects_membership_backfill(p_tenant_id, null::text[]) $$;

select public.fn_privileges_set(
    'function public.fn_projects_membership_backfill(text)',
    'execute', 'service_role');

-- fn_projects_membership_backfill(tenant, project keys) — the membership rule applied again to
-- the projects in scope (a tenant or all, some projects or all), in named steps under the
-- import lock of every tenant concerned (taken in tenant order): canonical values from today's
-- directories, their organizations, memberships synced, then what that fixed resolved.
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

    v_projects := fn_projects_membership_backfill_canonical(p_tenant_id, p_project_keys);

    insert into organizations (tenant_id, name)
    select distinct p.tenant_id, p.partner_org
      from projects p
     where p.partner_org is not null
       and (p_tenant_id is null or p.tenant_id = p_tenant_id)
       and (p_project_keys is null or p.stage_application = any (p_project_keys))
    on conflict do nothing;

    -- the rows as arrays, not through the temp table membership_sync: the definer
    -- fn_directory_change_apply runs this, and a caller's temp table must not be its input
    select fn_projects_sync_memberships_rows(
               null, array_agg(p.tenant_id), array_agg(p.stage_application),
               array_agg(p.partner_org), array_agg(p.ds_username), array_agg(p.rm_username))
      into v_sync
      from projects p
     where (p_tenant_id is null or p.tenant_id = p_tenant_id)
       and (p_project_keys is null or p.stage_application = any (p_project_keys));

    v_resolved := fn_projects_membership_backfill_resolve(p_tenant_id, p_project_keys);

    return jsonb_build_object(
        'projects_updated', v_projects,
        'org_memberships_added', (v_sync ->> 'org_added')::integer,
        'user_memberships_added', (v_sync ->> 'user_added')::integer,
        'org_memberships_ended', (v_sync ->> 'org_ended')::integer,
        'user_memberships_ended', (v_sync ->> 'user_ended')::integer,
        'memberships_ended', (v_sync ->> 'org_ended')::integer
                             + (v_sync ->> 'user_ended')::integer,
        'anomalies_resolved', v_resolved);
end
$$;

select public.fn_privileges_set(
    'function public.fn_projects_membership_backfill(text, text[])',
    'execute', 'service_role');
