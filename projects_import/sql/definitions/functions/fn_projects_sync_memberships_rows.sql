-- fn_projects_sync_memberships_rows(batch, rows as arrays) — the membership rule, once, for the
-- projects given (tenant_id, stage_application, partner_org, ds_username, rm_username, one
-- array each, the same length): open memberships that no longer match end (ended_batch_id =
-- the batch), missing ones are added. The rows come as arguments, never through a temp table,
-- so the definer fn_directory_change_apply (through the backfill) touches nothing its caller
-- could have created first. Counts: org_ended, user_ended, org_added, user_added.
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
    as $$
declare
    v_org_ended   integer;
    v_user_ended  integer;
    v_org_added   integer;
    v_user_added  integer;
begin
    with s as (
        select * from unnest(p_tenant_id, p_stage_application, p_partner_org, p_ds_username,
                             p_rm_username)
                      as u(tenant_id, stage_application, partner_org, ds_username, rm_username)
    ), ended as (
        update public.project_org_memberships m
           set ended_at = now(), ended_batch_id = p_batch_id
          from s
         where m.tenant_id = s.tenant_id
           and m.stage_application = s.stage_application
           and m.ended_at is null
           and m.org_name is distinct from s.partner_org
        returning 1
    )
    select count(*) into v_org_ended from ended;

    with s as (
        select * from unnest(p_tenant_id, p_stage_application, p_partner_org, p_ds_username,
                             p_rm_username)
                      as u(tenant_id, stage_application, partner_org, ds_username, rm_username)
    ), ended as (
        update public.project_user_memberships m
           set ended_at = now(), ended_batch_id = p_batch_id
          from s
         where m.tenant_id = s.tenant_id
           and m.stage_application = s.stage_application
           and m.ended_at is null
           and m.username is distinct from
               case m.role when 'deployment_specialist' then s.ds_username
                           else s.rm_username end
        returning 1
    )
    select count(*) into v_user_ended from ended;

    with s as (
        select * from unnest(p_tenant_id, p_stage_application, p_partner_org, p_ds_username,
                             p_rm_username)
                      as u(tenant_id, stage_application, partner_org, ds_username, rm_username)
    ), added as (
        insert into public.project_org_memberships (tenant_id, stage_application, org_name,
                                                    role, batch_id)
        select s.tenant_id, s.stage_application, s.partner_org, 'delivery_partner', p_batch_id
          from s
         where s.partner_org is not null
           and not exists (select 1 from public.project_org_memberships m
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

    with s as (
        select * from unnest(p_tenant_id, p_stage_application, p_partner_org, p_ds_username,
                             p_rm_username)
                      as u(tenant_id, stage_application, partner_org, ds_username, rm_username)
    ), added as (
        insert into public.project_user_memberships (tenant_id, stage_application, username,
                                                     role, batch_id)
        select s.tenant_id, s.stage_application, u.username, u.role, p_batch_id
          from s
          cross join lateral (values ('deployment_specialist', s.ds_username),
                                     ('relationship_manager', s.rm_username)) as u(role, username)
         where u.username is not null
           and not exists (select 1 from public.project_user_memberships m
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

select public.fn_privileges_set(
    'function public.fn_projects_sync_memberships_rows(uuid, text[], text[], text[], text[], '
    'text[])', 'execute', 'service_role');
