-- fn_import_anomaly_subject — the value an anomaly of this type is about, as the row gives it
-- (trimmed, blank as null): the delivery partner; the deployment specialist; for an RM the
-- rm_preferred_username when one is given (it decides, see fn_projects_resolve_canonical),
-- else the relationship manager's display name. Null when the row names nobody.
-- Plain SQL, immutable: inlined into the set-based callers.
create or replace function public.fn_import_anomaly_subject(
    p_anomaly_type           text,
    p_delivery_partner       text,
    p_deployment_specialist  text,
    p_relationship_manager   text,
    p_rm_preferred_username  text
) returns text
    language sql immutable parallel safe
    as $$
    select nullif(btrim(case p_anomaly_type
               when 'UNKNOWN_DELIVERY_PARTNER' then p_delivery_partner
               when 'UNKNOWN_DS' then p_deployment_specialist
               when 'UNKNOWN_RM' then coalesce(nullif(btrim(p_rm_preferred_username), ''),
                                               p_relationship_manager)
           end), '')
    $$;

select public.fn_privileges_set(
    'function public.fn_import_anomaly_subject(text, text, text, text, text)',
    'execute', 'authenticated', 'service_role');
