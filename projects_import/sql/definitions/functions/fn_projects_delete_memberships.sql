-- Memberships follow their project out (what their foreign keys' on delete cascade did), in
-- one statement per deleting statement. Their inserts are the merge's and the backfill's, for
-- projects they have just upserted or read, so a per-row check bought nothing.
create or replace function public.fn_projects_delete_memberships() returns trigger
    language plpgsql
    set search_path = public, pg_temp
    as $$
begin
    delete from project_org_memberships m
     using deleted_projects d
     where m.tenant_id = d.tenant_id and m.stage_application = d.stage_application;
    delete from project_user_memberships m
     using deleted_projects d
     where m.tenant_id = d.tenant_id and m.stage_application = d.stage_application;
    return null;
end
$$;

select public.fn_privileges_set(
    'function public.fn_projects_delete_memberships()',
    'execute', variadic '{}'::text[]);
