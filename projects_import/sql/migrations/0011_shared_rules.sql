-- 0011 — Each rule in one place. The merge (0003) and the backfill (0006) each wrote the
-- membership end/add rule and the "anomaly still applies" rule themselves; here they become
-- functions both call (0012 redefines the merge and the backfill on them, together with the
-- problems they feed). fn_projects_resolve_canonical (0003) stays the one canonical-resolution
-- rule. Everything is set-based: no function here is called once per row in a hot path
-- except plain SQL ones the planner inlines.

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

-- fn_projects_sync_memberships — the membership rule, once: for the projects listed in the
-- caller's temp table pg_temp.membership_sync (tenant_id, stage_application, partner_org,
-- ds_username, rm_username — the canonical values they now resolve to):
--   * end the active memberships that no longer apply (ended_at = now(), ended_batch_id =
--     p_batch_id; a reassigned person loses access; rows are never deleted),
--   * then add the memberships that are missing (batch_id = p_batch_id).
-- The merge lists the batch's rows (p_batch_id = the batch), the backfill every project in
-- scope (p_batch_id null). Returns {org_ended, user_ended, org_added, user_added}.
-- Create the temp table with fn_projects_membership_sync_table() (on commit drop).
create or replace function public.fn_projects_membership_sync_table() returns void
    language plpgsql
    set search_path = public, pg_temp
    as $$
begin
    create temp table if not exists membership_sync (
        tenant_id          text not null,
        stage_application  text not null,
        partner_org        text,
        ds_username        text,
        rm_username        text
    ) on commit drop;
    truncate pg_temp.membership_sync;
end
$$;

create or replace function public.fn_projects_sync_memberships(p_batch_id uuid default null)
    returns jsonb
    language plpgsql
    set search_path = public, pg_temp
    as $$
declare
    v_org_ended   integer;
    v_user_ended  integer;
    v_org_added   integer;
    v_user_added  integer;
begin
    with ended as (
        update project_org_memberships m
           set ended_at = now(), ended_batch_id = p_batch_id
          from pg_temp.membership_sync s
         where m.tenant_id = s.tenant_id
           and m.stage_application = s.stage_application
           and m.ended_at is null
           and m.org_name is distinct from s.partner_org
        returning 1
    )
    select count(*) into v_org_ended from ended;

    with ended as (
        update project_user_memberships m
           set ended_at = now(), ended_batch_id = p_batch_id
          from pg_temp.membership_sync s
         where m.tenant_id = s.tenant_id
           and m.stage_application = s.stage_application
           and m.ended_at is null
           and m.username is distinct from
               case m.role when 'deployment_specialist' then s.ds_username
                           else s.rm_username end
        returning 1
    )
    select count(*) into v_user_ended from ended;

    with added as (
        insert into project_org_memberships (tenant_id, stage_application, org_name, role,
                                             batch_id)
        select s.tenant_id, s.stage_application, s.partner_org, 'delivery_partner', p_batch_id
          from pg_temp.membership_sync s
         where s.partner_org is not null
           and not exists (select 1 from project_org_memberships m
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

    with added as (
        insert into project_user_memberships (tenant_id, stage_application, username, role,
                                              batch_id)
        select s.tenant_id, s.stage_application, u.username, u.role, p_batch_id
          from pg_temp.membership_sync s
          cross join lateral (values ('deployment_specialist', s.ds_username),
                                     ('relationship_manager', s.rm_username)) as u(role, username)
         where u.username is not null
           and not exists (select 1 from project_user_memberships m
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

-- Writing helpers are for the merge and the backfill (the service's own role) only.
revoke execute on function public.fn_projects_membership_sync_table(),
                           public.fn_projects_sync_memberships(uuid)
    from public;

do $$
begin
    revoke execute on function public.fn_projects_membership_sync_table(),
                               public.fn_projects_sync_memberships(uuid)
      from anon, authenticated;
    grant execute on function public.fn_import_anomaly_subject(text, text, text, text, text),
                              public.fn_import_anomaly_misses(text, text, text, text, text,
                                                              text, text),
                              public.fn_import_anomaly_applies(text, public.projects)
       to authenticated, service_role;
exception
    when undefined_object or insufficient_privilege then null;
end
$$;
