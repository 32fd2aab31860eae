-- fn_projects_membership_backfill_canonical — backfill step: each project in scope (of one
-- tenant or all, some project keys or all) gets the canonical partner organization, DS and RM
-- usernames today's directories give its values (the batch rule: each distinct value looked
-- up once per tenant). Returns how many projects changed.
create or replace function public.fn_projects_membership_backfill_canonical(
    p_tenant_id text, p_project_keys text[])
    returns integer
    language plpgsql
    set search_path = public, pg_temp
    as $$
declare
    v_tenant    text;
    v_projects  integer;
begin
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

    return v_projects;
end
$$;

select public.fn_privileges_set(
    'function public.fn_projects_membership_backfill_canonical(text, text[])',
    'execute', 'service_role');
