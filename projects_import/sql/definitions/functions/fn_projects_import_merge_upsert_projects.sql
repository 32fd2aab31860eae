-- fn_projects_import_merge_upsert_projects — merge step: upsert projects. The batch's partner
-- organizations exist, then each staged row's project is inserted, or updated when one of its
-- values changed (an unchanged project is left as it is); the projects new to the tenant or
-- whose canonical partner, DS or RM changed are listed in pg_temp.membership_sync for
-- fn_projects_sync_memberships.
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

    -- Memberships (the one rule, 0011) are synced for the projects this batch adds or whose
    -- canonical values change only: another project's memberships are as the last merge or
    -- backfill left them for the same canonical values. Read before the upsert, one index
    -- probe per row (a lateral lookup with a limit is never planned as a scan of the
    -- tenant's projects, whatever the statistics say).
    perform fn_projects_membership_sync_table();
    insert into pg_temp.membership_sync
    select p_tenant_id, b.stage_application, b.partner_org, b.ds_username, b.rm_username
      from pg_temp.import_batch b
      left join lateral (select true, p.partner_org, p.ds_username, p.rm_username
                           from projects p
                          where p.tenant_id = p_tenant_id
                            and p.stage_application = b.stage_application
                          limit 1) k(known, partner_org, ds_username, rm_username) on true
     where k.known is null
        or (k.partner_org, k.ds_username, k.rm_username)
           is distinct from (b.partner_org, b.ds_username, b.rm_username);

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
        returning (xmax = 0) as inserted
    )
    select count(*) filter (where inserted), count(*) filter (where not inserted)
      into o_inserted, o_updated
      from upserted;
end
$$;

select public.fn_privileges_set(
    'function public.fn_projects_import_merge_upsert_projects(text, text, uuid, uuid)',
    'execute', 'service_role');
