-- fn_projects_sync_memberships — the membership rule, once: for the projects listed in the
-- caller's temp table pg_temp.membership_sync (tenant_id, stage_application, partner_org,
-- ds_username, rm_username — the canonical values they now resolve to):
--   * end the active memberships that no longer apply (ended_at = now(), ended_batch_id =
--     p_batch_id; a reassigned person loses access; rows are never deleted),
--   * then add the memberships that are missing (batch_id = p_batch_id).
-- The merge lists the projects it adds or whose canonical values change (p_batch_id = the
-- batch), the backfill every project in scope (p_batch_id null). Returns {org_ended, user_ended, org_added, user_added}.
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

select public.fn_privileges_set(
    'function public.fn_projects_membership_sync_table()',
    'execute', 'service_role');
