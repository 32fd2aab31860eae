-- fn_projects_import_merge_upsert_projects — merge step: upsert projects. The batch's partner
-- organizations exist, then each staged row's project is inserted, or updated when one of its
-- values changed (an unchanged project is left as it is); the projects inserted or changed are
-- listed in pg_temp.membership_sync for fn_projects_sync_memberships.
create or replace function public.fn_projects_import_merge_upsert_projects(
    p_tenant_id text, p_source text, p_batch_id uuid, p_correlation_id uuid,
    out o_inserted integer, out o_updated integer)
    language plpgsql
    set search_path = public, pg_temp
    as $$
begin
    insert into organizations (tenant_id, name)
    select distinct p_tenant_id, b.partner_org
      from pg_temp.import_batch b
     where b.partner_org is not null
    on conflict do nothing;

    -- Memberships (the one rule, 0011) are synced for the projects this batch inserted or
    -- changed only: an unchanged project's canonical values, so its memberships, are as the
    -- last merge or backfill left them.
    perform fn_projects_membership_sync_table();
    with upserted as (
        insert into projects as p (
            tenant_id, stage_application, delivery_partner, developer_class,
            relationship_manager, deployment_specialist, rm_preferred_username,
            residential, commercial, essential, premises_count, stage_application_created,
            partner_org, ds_username, rm_username, source, last_batch_id, last_correlation_id)
        select p_tenant_id, b.stage_application, b.delivery_partner, b.developer_class,
               b.relationship_manager, b.deployment_specialist, b.rm_preferred_username,
               b.residential, b.commercial, b.essential, b.premises_count,
               b.stage_application_created, b.partner_org, b.ds_username, b.rm_username,
               p_source, p_batch_id, p_correlation_id
          from pg_temp.import_batch b
        on conflict (tenant_id, stage_application) do update
           set delivery_partner = excluded.delivery_partner,
               developer_class = excluded.developer_class,
               relationship_manager = excluded.relationship_manager,
               deployment_specialist = excluded.deployment_specialist,
               rm_preferred_username = excluded.rm_preferred_username,
               residential = excluded.residential,
               commercial = excluded.commercial,
               essential = excluded.essential,
               premises_count = excluded.premises_count,
               stage_application_created = excluded.stage_application_created,
               partner_org = excluded.partner_org,
               ds_username = excluded.ds_username,
               rm_username = excluded.rm_username,
               source = excluded.source,
               last_batch_id = excluded.last_batch_id,
               last_correlation_id = excluded.last_correlation_id,
               updated_at = now()
         where (p.delivery_partner, p.developer_class, p.relationship_manager,
                p.deployment_specialist, p.rm_preferred_username, p.residential, p.commercial,
                p.essential, p.premises_count, p.stage_application_created,
                p.partner_org, p.ds_username, p.rm_username)
               is distinct from
               (excluded.delivery_partner, excluded.developer_class,
                excluded.relationship_manager, excluded.deployment_specialist,
                excluded.rm_preferred_username, excluded.residential, excluded.commercial,
                excluded.essential, excluded.premises_count,
                excluded.stage_application_created, excluded.partner_org,
                excluded.ds_username, excluded.rm_username)
        returning p.stage_application, p.partner_org, p.ds_username, p.rm_username,
                  (xmax = 0) as inserted
    ), synced as (
        insert into pg_temp.membership_sync
        select p_tenant_id, u.stage_application, u.partner_org, u.ds_username, u.rm_username
          from upserted u
    )
    select count(*) filter (where inserted), count(*) filter (where not inserted)
      into o_inserted, o_updated
      from upserted;
end
$$;

select public.fn_privileges_set(
    'function public.fn_projects_import_merge_upsert_projects(text, text, uuid, uuid)',
    'execute', 'service_role');
