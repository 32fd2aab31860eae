-- fn_import_anomaly_applies (0006) keeps its signature for psql callers and now asks the
-- one rule above.
create or replace function public.fn_import_anomaly_applies(
    p_anomaly_type  text,
    p_project       public.projects
) returns boolean
    language sql immutable
    as $$
    select exists (
        select 1
          from public.fn_import_anomaly_misses(
                p_project.delivery_partner, p_project.deployment_specialist,
                p_project.relationship_manager, p_project.rm_preferred_username,
                p_project.partner_org, p_project.ds_username, p_project.rm_username) m
         where m.anomaly_type = p_anomaly_type)
    $$;

select public.fn_privileges_set(
    'function public.fn_import_anomaly_applies(text, projects)',
    'execute', 'service_role', 'authenticated');
