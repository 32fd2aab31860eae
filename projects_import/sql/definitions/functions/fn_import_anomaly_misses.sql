-- fn_import_anomaly_misses — the "anomaly applies" rule (SPEC §5.4), once: for one project's
-- raw values and its resolved canonical values, one row per miss:
--   UNKNOWN_DELIVERY_PARTNER (warning) a partner is named and resolves to no organization,
--   UNKNOWN_DS (error)                 a deployment specialist is named and is not an active DS,
--   UNKNOWN_RM (error)                 an RM is named (username or display name) and resolves
--                                      to no active RM,
-- with unknown_value = fn_import_anomaly_subject (what the directories failed to match).
-- Set-returning plain SQL without SET clauses: called as `cross join lateral`, the planner
-- inlines it, so the merge and the backfill stay single set-based statements.
create or replace function public.fn_import_anomaly_misses(
    p_delivery_partner       text,
    p_deployment_specialist  text,
    p_relationship_manager   text,
    p_rm_preferred_username  text,
    p_partner_org            text,
    p_ds_username            text,
    p_rm_username            text
) returns table (anomaly_type text, severity text, unknown_value text)
    language sql immutable
    as $$
    select m.anomaly_type, m.severity, m.unknown_value
      from (values
            ('UNKNOWN_DELIVERY_PARTNER', 'warning',
             public.fn_import_anomaly_subject('UNKNOWN_DELIVERY_PARTNER', p_delivery_partner,
                 p_deployment_specialist, p_relationship_manager, p_rm_preferred_username),
             p_partner_org),
            ('UNKNOWN_DS', 'error',
             public.fn_import_anomaly_subject('UNKNOWN_DS', p_delivery_partner,
                 p_deployment_specialist, p_relationship_manager, p_rm_preferred_username),
             p_ds_username),
            ('UNKNOWN_RM', 'error',
             public.fn_import_anomaly_subject('UNKNOWN_RM', p_delivery_partner,
                 p_deployment_specialist, p_relationship_manager, p_rm_preferred_username),
             p_rm_username)
           ) as m(anomaly_type, severity, unknown_value, canonical)
     where m.unknown_value is not null and m.canonical is null
    $$;

select public.fn_privileges_set(
    'function public.fn_import_anomaly_misses(text, text, text, text, text, text, text)',
    'execute', 'authenticated', 'service_role');
