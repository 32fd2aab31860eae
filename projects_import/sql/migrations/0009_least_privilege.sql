-- 0009 — Least privilege on Supabase too. Supabase grants anon and authenticated rights on new
-- objects by default (explicit grants that a `revoke … from public` leaves in place), and its
-- PostgREST exposes whatever those roles may touch. So: the migrations ledger gets RLS with
-- no policy, and the writing functions are revoked from both roles by name. On plain
-- PostgreSQL these statements change nothing that earlier migrations had not already denied.

alter table public.projects_import_migrations enable row level security;

do $$
begin
    revoke all on public.projects_import_migrations from anon, authenticated;
    revoke execute on function
        public.fn_projects_import_merge(text, text, uuid, jsonb, uuid),
        public.fn_projects_import_submit(text, text, uuid, text, smallint, jsonb, jsonb, uuid,
                                         jsonb),
        public.fn_projects_import_lock(text),
        public.fn_projects_import_try_lock(text),
        public.fn_projects_membership_backfill(text),
        public.fn_cleanup_import_data(integer, integer, integer, integer),
        public.fn_schedule_import_retention(text, text),
        public.fn_import_retention_cron_job()
      from public, anon, authenticated;
exception
    when undefined_object or insufficient_privilege then null;
end
$$;
