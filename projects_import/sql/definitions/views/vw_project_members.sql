-- vw_project_members — one row per active membership of a project: its partner organization
-- ('org') and its people ('user'), with their role and since when.

create or replace view public.vw_project_members with (security_invoker = true) as
    select tenant_id, stage_application as project_key, 'org'::text as member_type,
           org_name as member, role, since
      from public.project_org_memberships
     where ended_at is null
    union all
    select tenant_id, stage_application, 'user'::text, username, role, since
      from public.project_user_memberships
     where ended_at is null;

select public.fn_privileges_set(
    'table public.vw_project_members',
    'select', 'authenticated', 'service_role');
