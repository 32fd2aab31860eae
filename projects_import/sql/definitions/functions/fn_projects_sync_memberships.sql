-- fn_projects_sync_memberships(batch) — the merge's form of the membership rule: the projects
-- listed in the caller's pg_temp.membership_sync (the merge runs as its caller, who filled it
-- in this transaction), passed to fn_projects_sync_memberships_rows. Never for a definer.
create or replace function public.fn_projects_sync_memberships(p_batch_id uuid default null)
    returns jsonb
    language plpgsql
    set search_path = public, pg_temp
    as $$
begin
    return (select public.fn_projects_sync_memberships_rows(
                       p_batch_id, array_agg(s.tenant_id), array_agg(s.stage_application),
                       array_agg(s.partner_org), array_agg(s.ds_username),
                       array_agg(s.rm_username))
              from pg_temp.membership_sync s);
end
$$;

select public.fn_privileges_set(
    'function public.fn_projects_sync_memberships(uuid)',
    'execute', 'service_role');
