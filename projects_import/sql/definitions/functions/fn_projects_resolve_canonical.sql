-- fn_projects_resolve_canonical (0003): one project's values, by the batch rule above.
create or replace function public.fn_projects_resolve_canonical(
    p_tenant_id              text,
    p_delivery_partner       text,
    p_deployment_specialist  text,
    p_relationship_manager   text,
    p_rm_preferred_username  text
) returns table (partner_org text, ds_username text, rm_username text)
    language sql stable
    as $$
    select c.partner_org, c.ds_username, c.rm_username
      from public.fn_projects_resolve_canonical_batch(
               p_tenant_id, array[p_delivery_partner], array[p_deployment_specialist],
               array[p_relationship_manager], array[p_rm_preferred_username]) c
    $$;

select public.fn_privileges_set(
    'function public.fn_projects_resolve_canonical(text, text, text, text, text)',
    'execute', 'service_role');
