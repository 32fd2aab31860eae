-- fn_import_projects_snapshot(tenant, keys) — per project: its imported fields and active
-- memberships ("role:member"), for the diff of a held batch.
create or replace function public.fn_import_projects_snapshot(p_tenant_id text, p_keys text[])
    returns table (project_key text, fields jsonb, members text[])
    language sql stable
    set search_path = public, pg_temp
    as $$
    select p.stage_application,
           jsonb_build_object(
               'delivery_partner', p.delivery_partner, 'developer_class', p.developer_class,
               'relationship_manager', p.relationship_manager,
               'deployment_specialist', p.deployment_specialist,
               'rm_preferred_username', p.rm_preferred_username,
               'residential', p.residential, 'commercial', p.commercial,
               'essential', p.essential, 'premises_count', p.premises_count,
               'stage_application_created', p.stage_application_created,
               'partner_org', p.partner_org, 'ds_username', p.ds_username,
               'rm_username', p.rm_username),
           array(select m.role || ':' || m.member from vw_project_members m
                  where m.tenant_id = p.tenant_id and m.project_key = p.stage_application
                  order by 1)
      from projects p
     where p.tenant_id = p_tenant_id and p.stage_application = any (p_keys)
$$;

select public.fn_privileges_set(
    'function public.fn_import_projects_snapshot(text, text[])',
    'execute', 'service_role');
