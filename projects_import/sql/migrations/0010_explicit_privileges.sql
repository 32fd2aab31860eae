-- 0010 — Explicit, least privileges on every object this service created, the same on plain
-- PostgreSQL and on Supabase (whose default privileges give anon, authenticated and
-- service_role ALL on every new object in `public`). Objects the service does not own (on
-- Supabase, `public` may hold the project's own tables) are named nowhere here and left alone.
--
-- Who may do what afterwards:
--   anon           nothing.
--   authenticated  SELECT on the tables that have an `operators_read` policy and on the views
--                  (RLS lets operators/admins see rows, nobody else); EXECUTE on the operator
--                  RPCs, which refuse a non-operator with 42501. No INSERT, UPDATE, DELETE,
--                  TRUNCATE, REFERENCES or TRIGGER anywhere: the anomaly lifecycle changes only
--                  through fn_anomaly_set_status, which now runs as its owner.
--   service_role   the trusted server key: reads and writes the data tables (not the logins,
--                  sessions, bearer hashes or the migrations ledger), runs merge, submit,
--                  backfill and cleanup, and counts as an operator in the operator RPCs.
--                  Never TRUNCATE, REFERENCES or TRIGGER.

do $$
declare
    v_roles text;
    v_seq   text;
begin
    -- `public` plus whichever API roles this server has (0001 may not have been allowed to
    -- create them on a locked-down server).
    select string_agg(r, ', ') into v_roles
      from (select 'public' as r
            union all
            select quote_ident(rolname) from pg_roles
             where rolname in ('anon', 'authenticated', 'service_role')) roles;

    execute 'revoke all on table
        public.tenants, public.tenant_secrets, public.partner_normalization,
        public.ds_directory, public.rm_directory, public.organizations, public.projects,
        public.project_org_memberships, public.project_user_memberships,
        public.staging_imports, public.import_anomalies, public.import_retention_stats,
        public.dashboard_users, public.dashboard_sessions, public.import_requests,
        public.projects_import_migrations,
        public.vw_project_members, public.vw_import_anomalies_recent,
        public.vw_import_anomalies_stats_24h
      from ' || v_roles;

    foreach v_seq in array array[
        pg_get_serial_sequence('public.project_org_memberships', 'id'),
        pg_get_serial_sequence('public.project_user_memberships', 'id'),
        pg_get_serial_sequence('public.import_anomalies', 'id'),
        pg_get_serial_sequence('public.import_requests', 'id')] loop
        execute 'revoke all on sequence ' || v_seq || ' from ' || v_roles;
    end loop;

    execute 'revoke all on function
        public.fn_directory_key(text),
        public.fn_projects_import_lock_key(text),
        public.fn_projects_import_lock(text),
        public.fn_projects_import_try_lock(text),
        public.fn_projects_resolve_canonical(text, text, text, text, text),
        public.fn_projects_import_merge(text, text, uuid, jsonb, uuid),
        public.fn_projects_import_submit(text, text, uuid, text, smallint, jsonb, jsonb, uuid,
                                         jsonb),
        public.fn_jwt_app_role(),
        public.fn_is_operator(),
        public.fn_require_operator(),
        public.fn_anomalies_check_window(integer),
        public.fn_anomalies_for_operator(integer, text, text[], integer),
        public.fn_anomalies_for_operator(integer, text, text[]),
        public.fn_anomalies_stats(integer),
        public.fn_anomaly_set_status(bigint, text),
        public.fn_import_anomaly_applies(text, public.projects),
        public.fn_projects_membership_backfill(text),
        public.fn_cleanup_import_data(integer, integer, integer, integer),
        public.fn_import_retention_cron_job(),
        public.fn_schedule_import_retention(text, text),
        public.fn_dashboard_membership_changes(integer, integer)
      from ' || v_roles;
end
$$;

-- Objects the migrating role adds to `public` later start closed to the API roles (Supabase
-- would otherwise open them); each migration grants what its own objects need.
do $$
declare
    v_roles text;
begin
    select string_agg(r, ', ') into v_roles
      from (select 'public' as r
            union all
            select quote_ident(rolname) from pg_roles
             where rolname in ('anon', 'authenticated')) roles;
    execute 'alter default privileges in schema public revoke all on tables from ' || v_roles;
    execute 'alter default privileges in schema public revoke all on sequences from ' || v_roles;
    execute 'alter default privileges in schema public revoke all on functions from ' || v_roles;
end
$$;

-- service_role: the trusted server key counts as an operator, whether PostgREST switched to it
-- (`set local role service_role`) or its JWT says so.
create or replace function public.fn_is_operator() returns boolean
    language sql stable
    as $$
        select public.fn_jwt_app_role() in ('operator', 'admin')
            or coalesce(auth.jwt() ->> 'role', '') = 'service_role'
            or current_setting('role', true) = 'service_role'
    $$;

-- The lifecycle, enforced by its owner's rights: nobody else may UPDATE import_anomalies, so
-- these transitions and the `sub` recorded as acknowledged_by cannot be skipped or forged.
create or replace function public.fn_anomaly_set_status(p_id bigint, p_status text)
    returns table (id bigint, tenant_id text, status text, acknowledged_at timestamptz,
                   acknowledged_by text, resolved_at timestamptz)
    language plpgsql volatile security definer
    set search_path = public, pg_temp
    as $$
#variable_conflict use_column
declare
    v_current text;
    v_by      text;
begin
    perform public.fn_require_operator();
    if p_status is null or p_status not in ('acknowledged', 'resolved') then
        raise exception 'status must be acknowledged or resolved, got %',
            coalesce(p_status, 'null')
            using errcode = 'invalid_parameter_value';
    end if;

    select a.status into v_current
      from public.import_anomalies a
     where a.id = p_id
       for update;
    if not found then
        raise exception 'no anomaly with id %', p_id using errcode = 'no_data_found';
    end if;
    if v_current = 'resolved' and p_status = 'acknowledged' then
        raise exception 'anomaly % is already resolved; it cannot be acknowledged', p_id
            using errcode = 'object_not_in_prerequisite_state';
    end if;

    v_by := coalesce(nullif(auth.jwt() ->> 'sub', ''),
                     case when current_setting('role', true) = 'service_role'
                          then 'service_role' end);

    return query
        update public.import_anomalies a
           set status = p_status,
               acknowledged_at = case when p_status = 'acknowledged'
                                      then coalesce(a.acknowledged_at, now())
                                      else a.acknowledged_at end,
               acknowledged_by = case when p_status = 'acknowledged'
                                      then coalesce(a.acknowledged_by, v_by)
                                      else a.acknowledged_by end,
               resolved_at = case when p_status = 'resolved'
                                  then coalesce(a.resolved_at, now())
                                  else a.resolved_at end
         where a.id = p_id
        returning a.id, a.tenant_id, a.status, a.acknowledged_at, a.acknowledged_by,
                  a.resolved_at;
end
$$;

-- No direct UPDATE for operators any more (the grant that went with this policy is revoked).
drop policy if exists operators_update on public.import_anomalies;

-- service_role in RLS: Supabase's has BYPASSRLS; a plain server's shim role does not, so the
-- same rights are written as policies.
do $$
declare
    v_table text;
begin
    if not exists (select 1 from pg_roles where rolname = 'service_role') then
        return;
    end if;
    foreach v_table in array array[
        'tenants', 'partner_normalization', 'ds_directory', 'rm_directory', 'organizations',
        'projects', 'project_org_memberships', 'project_user_memberships', 'staging_imports',
        'import_anomalies', 'import_retention_stats', 'import_requests'] loop
        execute format('create policy service_role_all on public.%I for all to service_role '
                       'using (true) with check (true)', v_table);
    end loop;
end
$$;

-- What the contract needs, and nothing more.
do $$
begin
    if exists (select 1 from pg_roles where rolname = 'authenticated') then
        grant select on public.import_anomalies, public.projects,
                        public.project_org_memberships, public.project_user_memberships,
                        public.partner_normalization, public.ds_directory, public.rm_directory,
                        public.organizations, public.tenants, public.import_retention_stats,
                        public.import_requests,
                        public.vw_project_members, public.vw_import_anomalies_recent,
                        public.vw_import_anomalies_stats_24h
           to authenticated;
        grant execute on function public.fn_jwt_app_role(),
                                  public.fn_is_operator(),
                                  public.fn_require_operator(),
                                  public.fn_anomalies_check_window(integer),
                                  public.fn_anomalies_for_operator(integer, text, text[], integer),
                                  public.fn_anomalies_for_operator(integer, text, text[]),
                                  public.fn_anomalies_stats(integer),
                                  public.fn_anomaly_set_status(bigint, text),
                                  public.fn_dashboard_membership_changes(integer, integer)
           to authenticated;
    end if;

    if exists (select 1 from pg_roles where rolname = 'service_role') then
        grant select, insert, update, delete
           on public.tenants, public.partner_normalization, public.ds_directory,
              public.rm_directory, public.organizations, public.projects,
              public.project_org_memberships, public.project_user_memberships,
              public.staging_imports, public.import_anomalies, public.import_retention_stats,
              public.import_requests
           to service_role;
        grant select on public.vw_project_members, public.vw_import_anomalies_recent,
                        public.vw_import_anomalies_stats_24h
           to service_role;
        grant usage, select on sequence
            public.project_org_memberships_id_seq, public.project_user_memberships_id_seq,
            public.import_anomalies_id_seq, public.import_requests_id_seq
           to service_role;
        grant execute on function
            public.fn_directory_key(text),
            public.fn_projects_import_lock_key(text),
            public.fn_projects_import_lock(text),
            public.fn_projects_import_try_lock(text),
            public.fn_projects_resolve_canonical(text, text, text, text, text),
            public.fn_projects_import_merge(text, text, uuid, jsonb, uuid),
            public.fn_projects_import_submit(text, text, uuid, text, smallint, jsonb, jsonb,
                                             uuid, jsonb),
            public.fn_jwt_app_role(),
            public.fn_is_operator(),
            public.fn_require_operator(),
            public.fn_anomalies_check_window(integer),
            public.fn_anomalies_for_operator(integer, text, text[], integer),
            public.fn_anomalies_for_operator(integer, text, text[]),
            public.fn_anomalies_stats(integer),
            public.fn_anomaly_set_status(bigint, text),
            public.fn_import_anomaly_applies(text, public.projects),
            public.fn_projects_membership_backfill(text),
            public.fn_cleanup_import_data(integer, integer, integer, integer),
            public.fn_import_retention_cron_job(),
            public.fn_dashboard_membership_changes(integer, integer)
           to service_role;
    end if;
end
$$;
