-- fn_projects_sync_memberships_rows(batch, rows as arrays) — the membership rule, once, for the
-- projects given (tenant_id, stage_application, partner_org, ds_username, rm_username, one
-- array each, the same length): open memberships that no longer match end (ended_batch_id =
-- the batch), missing ones are added. The rows come as arguments, never through a temp table,
-- so the definer fn_directory_change_apply (through the backfill) touches nothing its caller
-- could have created first. Counts: org_ended, user_ended, org_added, user_added.
-- One statement per table, planned alike whatever the statistics say (they lag behind tables
-- that grow fast, and a cached generic plan knows no array length): each row reads its
-- project's open memberships once through the active-membership index (ordered like it: with
-- sorts off, no other path gives that order), which yields both the ones to end (updated by
-- primary key) and whether the current one is open (if not, it is inserted). With seq scans,
-- hash and merge joins and materialize off too, every plan is index probes per row given,
-- never a pass over the tenant's memberships. Every caller holds the tenant's import lock
-- (the merge, the backfill), so what the read finds missing is missing: plain inserts (the
-- active-membership index would refuse a second open row with an error).
create or replace function public.fn_projects_sync_memberships_rows(
    p_batch_id           uuid,
    p_tenant_id          text[],
    p_stage_application  text[],
    p_partner_org        text[],
    p_ds_username        text[],
    p_rm_username        text[]
) returns jsonb
    language plpgsql
    set search_path = public, pg_temp
    set enable_sort = off
    set enable_incremental_sort = off
    set enable_seqscan = off
    set enable_hashjoin = off
    set enable_mergejoin = off
    set enable_material = off
    as $$
declare
    v_org_ended   integer;
    v_user_ended  integer;
    v_org_added   integer;
    v_user_added  integer;
begin
    with r as materialized (
        select s.tenant_id, s.stage_application, s.partner_org, a.ended, a.present
          from unnest(p_tenant_id, p_stage_application, p_partner_org)
                   as s(tenant_id, stage_application, partner_org)
         cross join lateral (
                select array_agg(m.id) filter (where m.org_name is distinct from s.partner_org)
                           as ended,
                       coalesce(bool_or(m.org_name = s.partner_org), false) as present
                  from (select m.id, m.org_name from public.project_org_memberships m
                         where m.tenant_id = s.tenant_id
                           and m.stage_application = s.stage_application
                           and m.ended_at is null
                         order by m.tenant_id, m.stage_application, m.role, m.org_name) m) a
    ), ends as materialized (
        select r.tenant_id, e.id from r cross join lateral unnest(r.ended) as e(id)
    ), ended as (
        update public.project_org_memberships m
           set ended_at = now(), ended_batch_id = p_batch_id
          from ends e
         where m.tenant_id = e.tenant_id and m.id = e.id
        returning 1
    ), added as (
        insert into public.project_org_memberships (tenant_id, stage_application, org_name,
                                                    role, batch_id)
        select r.tenant_id, r.stage_application, r.partner_org, 'delivery_partner', p_batch_id
          from r
         where r.partner_org is not null and not r.present
        returning 1
    )
    select (select count(*) from ended), (select count(*) from added)
      into v_org_ended, v_org_added;

    with r as materialized (
        select s.tenant_id, s.stage_application, s.ds_username, s.rm_username, a.ended,
               a.has_ds, a.has_rm
          from unnest(p_tenant_id, p_stage_application, p_ds_username, p_rm_username)
                   as s(tenant_id, stage_application, ds_username, rm_username)
         cross join lateral (
                select array_agg(m.id) filter (
                           where m.username is distinct from
                                 case m.role when 'deployment_specialist' then s.ds_username
                                             else s.rm_username end) as ended,
                       coalesce(bool_or(m.role = 'deployment_specialist'
                                        and m.username = s.ds_username), false) as has_ds,
                       coalesce(bool_or(m.role = 'relationship_manager'
                                        and m.username = s.rm_username), false) as has_rm
                  from (select m.id, m.role, m.username from public.project_user_memberships m
                         where m.tenant_id = s.tenant_id
                           and m.stage_application = s.stage_application
                           and m.ended_at is null
                         order by m.tenant_id, m.stage_application, m.role, m.username) m) a
    ), ends as materialized (
        select r.tenant_id, e.id from r cross join lateral unnest(r.ended) as e(id)
    ), ended as (
        update public.project_user_memberships m
           set ended_at = now(), ended_batch_id = p_batch_id
          from ends e
         where m.tenant_id = e.tenant_id and m.id = e.id
        returning 1
    ), added as (
        insert into public.project_user_memberships (tenant_id, stage_application, username,
                                                     role, batch_id)
        select r.tenant_id, r.stage_application, u.username, u.role, p_batch_id
          from r
         cross join lateral (values ('deployment_specialist', r.ds_username, r.has_ds),
                                    ('relationship_manager', r.rm_username, r.has_rm))
                   as u(role, username, present)
         where u.username is not null and not u.present
        returning 1
    )
    select (select count(*) from ended), (select count(*) from added)
      into v_user_ended, v_user_added;

    return jsonb_build_object('org_ended', v_org_ended, 'user_ended', v_user_ended,
                              'org_added', v_org_added, 'user_added', v_user_added);
end
$$;

select public.fn_privileges_set(
    'function public.fn_projects_sync_memberships_rows(uuid, text[], text[], text[], text[], '
    'text[])', 'execute', 'service_role');
