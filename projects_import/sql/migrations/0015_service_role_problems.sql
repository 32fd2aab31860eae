-- 0015 — The service_role rules of 0010 for the objects 0011 and 0012 added (problems, their
-- events, tenant events, the shared rules). service_role runs merge, submit, backfill and
-- cleanup, which now write these tables and call these functions; on Supabase it also got ALL
-- on them from the default privileges, TRUNCATE, REFERENCES and TRIGGER included, which it
-- never needs. anon and authenticated are left as 0012 set them (read through RLS and RPCs).

do $$
begin
    if not exists (select 1 from pg_roles where rolname = 'service_role') then
        return;
    end if;

    revoke all on public.import_problems, public.import_problem_events, public.tenant_events,
                  public.vw_tenant_freshness
      from service_role;
    grant select, insert, update, delete
       on public.import_problems, public.import_problem_events, public.tenant_events
       to service_role;
    grant select on public.vw_tenant_freshness to service_role;
    grant usage, select on sequence
        public.import_problems_id_seq, public.import_problem_events_id_seq,
        public.tenant_events_id_seq
       to service_role;

    create policy service_role_all on public.import_problems for all to service_role
        using (true) with check (true);
    create policy service_role_all on public.import_problem_events for all to service_role
        using (true) with check (true);
    create policy service_role_all on public.tenant_events for all to service_role
        using (true) with check (true);

    grant execute on function
        public.fn_import_anomaly_subject(text, text, text, text, text),
        public.fn_import_anomaly_misses(text, text, text, text, text, text, text),
        public.fn_projects_membership_sync_table(),
        public.fn_projects_sync_memberships(uuid),
        public.fn_business_time_add(timestamptz, numeric, text, time, time, integer[]),
        public.fn_business_time_add(timestamptz, numeric, text),
        public.fn_problem_due_times(text, timestamptz),
        public.fn_tenant_expected_at(timestamptz, text, time, integer[]),
        public.fn_tenant_last_success_at(text),
        public.fn_problems_check_filters(text[], text[], text[], integer),
        public.fn_anomalies_for_operator(integer, text, text[], integer, text[], text[], uuid[],
                                         text, timestamptz, bigint),
        public.fn_problems_for_operator(text, text[], text[], text[], uuid[], text, boolean,
                                        text, timestamptz, bigint, integer),
        public.fn_problem_get(bigint),
        public.fn_problem_occurrences(bigint, integer),
        public.fn_problem_events(bigint),
        public.fn_problem_set_status(bigint, text, text),
        public.fn_problem_stats(integer),
        public.fn_tenant_pause(text, text, text),
        public.fn_tenant_resume(text, text)
       to service_role;
end
$$;

-- Supabase's default privileges would give service_role TRUNCATE, REFERENCES and TRIGGER on
-- what the migrating role adds to `public` later; it never needs them.
do $$
begin
    if exists (select 1 from pg_roles where rolname = 'service_role') then
        alter default privileges in schema public
            revoke truncate, references, trigger on tables from service_role;
    end if;
end
$$;
