-- Every runtime query of the service, by name. `-- name --` starts a query; the line after it
-- says what it does. Parameters use psycopg's %(name)s style.

-- transaction_claims --
-- The caller's JWT claims for this transaction only (PostgREST's request.jwt.claims).
select set_config('request.jwt.claims', %(claims)s, true);

-- transaction_role_authenticated --
-- Run the rest of this transaction as the `authenticated` role, so row-level security applies.
set local role authenticated;

-- transaction_read_only --
-- This transaction only reads.
set transaction read only;

-- transaction_utc --
-- Timestamps of this transaction in UTC.
set local time zone 'UTC';

-- tenant_insert --
-- Create a tenant; returns nothing when it already exists.
insert into public.tenants (tenant_id, timezone)
values (%(tenant_id)s, %(timezone)s)
on conflict (tenant_id) do nothing
returning tenant_id, timezone, created_at;

-- tenant_get --
-- One tenant.
select tenant_id, timezone, created_at from public.tenants where tenant_id = %(tenant_id)s;

-- tenant_list --
-- Every tenant with its count of valid secrets and its freshness (last success, late, paused).
with secrets as (
    select t.tenant_id,
           count(s.secret_id) filter (where s.expires_at is null or s.expires_at > now())
               as secrets,
           max(s.created_at) as last_rotated_at
      from public.tenants t
      left join public.tenant_secrets s using (tenant_id)
     group by t.tenant_id
)
select t.tenant_id, t.timezone, t.created_at, s.secrets, s.last_rotated_at,
       f.last_success_at, f.expected_at, f.late, f.paused, f.paused_reason, f.paused_at
  from public.tenants t
  join secrets s using (tenant_id)
  join public.vw_tenant_freshness f using (tenant_id)
 order by t.tenant_id;

-- tenant_secret_insert --
-- Store a new bearer secret's hash.
insert into public.tenant_secrets (tenant_id, secret_id, secret_hash)
values (%(tenant_id)s, %(secret_id)s, %(secret_hash)s);

-- tenant_secrets_expire --
-- On rotation: current secrets stay valid for the grace period, then expire.
update public.tenant_secrets
   set expires_at = now() + make_interval(secs => %(grace_seconds)s)
 where tenant_id = %(tenant_id)s
   and (expires_at is null or expires_at > now() + make_interval(secs => %(grace_seconds)s));

-- tenant_secret_lookup --
-- The valid secret with this id, if any.
select tenant_id, secret_hash
  from public.tenant_secrets
 where secret_id = %(secret_id)s
   and (expires_at is null or expires_at > now());

-- import_submit --
-- Lock, replay check, stage and merge one batch, the rows as one array literal per column
-- (fn_projects_import_submit_columns).
select public.fn_projects_import_submit_columns(
    %(tenant_id)s, %(source)s, %(batch_id)s, %(batch_checksum)s, %(checksum_version)s::smallint,
    %(raw)s, %(correlation_id)s, %(validation)s,
    %(stage_application)s::text[], %(delivery_partner)s::text[], %(developer_class)s::text[],
    %(relationship_manager)s::text[], %(deployment_specialist)s::text[],
    %(rm_preferred_username)s::text[], %(residential)s::integer[], %(commercial)s::integer[],
    %(essential)s::integer[], %(premises_count)s::integer[],
    %(stage_application_created)s::text[]) as result;

-- import_replay_lookup --
-- A replay's answer before any payload is sent: this batch_id already staged with these rows
-- (0034: the same batch again; staging_imports' unique (tenant_id, batch_id)). None for a
-- paused tenant, or for the same batch_id with other rows: fn_projects_import_submit's answer
-- (423, 422) stays the authority.
select jsonb_build_object(
           'outcome', 'replayed',
           'batch_id', s.batch_id,
           'staging_id', s.id,
           'original_correlation_id', s.correlation_id,
           'metrics', coalesce(s.validation -> 'metrics', '{}'::jsonb)
                      || jsonb_build_object('staging_id', s.id)) as result
  from public.staging_imports s
  join public.tenants t on t.tenant_id = s.tenant_id and t.paused_at is null
 where s.tenant_id = %(tenant_id)s and s.batch_id = %(batch_id)s
   and s.batch_checksum = %(batch_checksum)s
   and s.batch_state not in ('held', 'rejected');  -- 0037: answered by the submit function

-- import_digest_lookup --
-- A replay's answer from the request as received (0030's digest of the body, media type, CSV
-- envelope and checksum version), before the body is decoded; none for a paused tenant, whose
-- answer is the submit function's, as for import_replay_lookup. With the staged batch's
-- upstream identity, for the answer's correlation id and the request history.
select s.batch_id,
       s.id as staging_id,
       s.source,
       s.row_count,
       s.validation ->> 'request_batch_id' as request_batch_id,
       s.validation ->> 'request_correlation_id' as request_correlation_id,
       coalesce(s.validation -> 'metrics', '{}'::jsonb)
           || jsonb_build_object('staging_id', s.id) as metrics
  from public.staging_imports s
  join public.tenants t on t.tenant_id = s.tenant_id and t.paused_at is null
 where s.tenant_id = %(tenant_id)s and s.request_digest = %(request_digest)s
   and s.batch_state not in ('held', 'rejected')  -- 0037: answered by the submit function
 order by s.created_at desc
 limit 1;

-- staging_request_digest --
-- Keep the digest of the request that staged a batch (0030), in the submit's transaction.
update public.staging_imports
   set request_digest = %(request_digest)s
 where tenant_id = %(tenant_id)s and batch_id = %(batch_id)s
   and batch_checksum = %(batch_checksum)s;

-- staging_get --
-- A staged batch, for a re-run, a publish or a diff.
select id, tenant_id, batch_id, source, raw, correlation_id, validation, batch_state
  from public.staging_imports
 where tenant_id = %(tenant_id)s and batch_id = %(batch_id)s;

-- batch_merge --
-- Re-merge rows of a staged batch (fn_projects_import_merge).
select public.fn_projects_import_merge(
    %(tenant_id)s, %(source)s, %(batch_id)s, %(rows)s, %(correlation_id)s) as metrics;

-- partners_upsert --
-- Upsert partner aliases from parallel arrays.
insert into public.partner_normalization (tenant_id, alias, canonical)
select %(tenant_id)s, a.alias, a.canonical
  from unnest(%(aliases)s::text[], %(canonicals)s::text[]) as a(alias, canonical)
on conflict (tenant_id, alias_key) do update
   set alias = excluded.alias, canonical = excluded.canonical, updated_at = now()
 where (partner_normalization.alias, partner_normalization.canonical)
       is distinct from (excluded.alias, excluded.canonical);

-- ds_upsert --
-- Upsert deployment specialists from parallel arrays.
insert into public.ds_directory (tenant_id, preferred_username, display_name, active)
select %(tenant_id)s, d.username, d.display_name, d.active
  from unnest(%(usernames)s::text[], %(display_names)s::text[], %(actives)s::boolean[])
       as d(username, display_name, active)
on conflict (tenant_id, username_key) do update
   set preferred_username = excluded.preferred_username,
       display_name = excluded.display_name, active = excluded.active, updated_at = now()
 where (ds_directory.preferred_username, ds_directory.display_name, ds_directory.active)
       is distinct from (excluded.preferred_username, excluded.display_name, excluded.active);

-- rm_upsert --
-- Upsert relationship managers from parallel arrays.
insert into public.rm_directory (tenant_id, preferred_username, display_name, active)
select %(tenant_id)s, d.username, d.display_name, d.active
  from unnest(%(usernames)s::text[], %(display_names)s::text[], %(actives)s::boolean[])
       as d(username, display_name, active)
on conflict (tenant_id, username_key) do update
   set preferred_username = excluded.preferred_username,
       display_name = excluded.display_name, active = excluded.active, updated_at = now()
 where (rm_directory.preferred_username, rm_directory.display_name, rm_directory.active)
       is distinct from (excluded.preferred_username, excluded.display_name, excluded.active);

-- database_ping --
-- Readiness: the database answers.
select 1 as ok;

-- import_request_record --
-- Record the outcome of one authenticated import request.
insert into public.import_requests (tenant_id, correlation_id, batch_id, status, error_code, rows,
                                    parse_ms, merge_ms, bytes, replayed, request_batch_id,
                                    source, staging_id, inserted_projects, updated_projects,
                                    unchanged_projects, org_memberships_upserted,
                                    user_memberships_upserted, anomalies_count,
                                    violations_total, violations_summary)
values (%(tenant_id)s, %(correlation_id)s, %(batch_id)s, %(status)s, %(error_code)s, %(rows)s,
        %(parse_ms)s, %(merge_ms)s, %(bytes)s, %(replayed)s, %(request_batch_id)s, %(source)s,
        %(staging_id)s, %(inserted_projects)s, %(updated_projects)s, %(unchanged_projects)s,
        %(org_memberships_upserted)s, %(user_memberships_upserted)s, %(anomalies_count)s,
        %(violations_total)s, %(violations_summary)s::jsonb);

-- imports_list --
-- A page of import requests, newest first, as the calling operator (fn_imports_for_operator).
select *
  from public.fn_imports_for_operator(%(tenant)s::text, %(status)s::integer,
                                      %(since)s::timestamptz, %(after_created_at)s::timestamptz,
                                      %(after_id)s::bigint, %(limit)s::integer,
                                      %(batch_state)s::text);

-- import_batch --
-- The batch of one import request: state, audit, held metrics, decisions
-- (fn_import_batch_for_operator; null when nothing was staged).
select public.fn_import_batch_for_operator(%(id)s::bigint) as batch;

-- import_request_batch --
-- The tenant and batch of one import request (to publish, reject or preview it).
select tenant_id, batch_id, staging_id from public.import_requests where id = %(id)s;

-- batch_publish --
-- Publish a held batch: merge its rows except those a later batch overtook
-- (fn_import_batch_publish).
select public.fn_import_batch_publish(%(tenant_id)s, %(batch_id)s, %(rows)s, %(actor)s)
    as result;

-- batch_reject --
-- Reject a held batch with a reason (fn_import_batch_reject).
select public.fn_import_batch_reject(%(tenant_id)s, %(batch_id)s, %(reason)s, %(actor)s)
    as result;

-- batch_diff --
-- What publishing a held batch would change, per project (fn_import_batch_diff; rolled back).
select public.fn_import_batch_diff(%(tenant_id)s, %(batch_id)s, %(rows)s) as diff;

-- tenant_set_audit --
-- Change a tenant's audit limits; null keeps a value (fn_tenant_set_audit).
select public.fn_tenant_set_audit(%(tenant_id)s, %(enabled)s::boolean,
                                  %(max_ended_share)s::numeric, %(max_anomaly_share)s::numeric,
                                  %(max_changed_share)s::numeric, %(min_rows)s::integer)
    as audit;

-- tenant_audits --
-- Every tenant's audit limits and held batches, as the calling operator
-- (fn_tenant_audits_for_operator).
select tenant_id, audit, held_batches, oldest_held_at
  from public.fn_tenant_audits_for_operator();

-- import_get --
-- One import request with its staged metrics, reruns and violations summary (fn_import_get).
select * from public.fn_import_get(%(id)s::bigint);

-- anomalies_list --
-- The newest anomalies of a window matching the filters, after the keyset cursor
-- (created_at, id), as the calling operator (fn_anomalies_for_operator).
select id, tenant_id, batch_id, row_index, project_key, anomaly_type, severity, payload_excerpt,
       correlation_id, created_at, status, acknowledged_at, acknowledged_by, resolved_at,
       problem_id
  from public.fn_anomalies_for_operator(%(window_hours)s::integer, %(tenant)s::text,
                                        %(severity)s::text[], %(limit)s::integer,
                                        %(anomaly_type)s::text[], %(status)s::text[],
                                        %(batch_id)s::uuid[], %(project_key)s::text,
                                        %(after_at)s::timestamptz, %(after_id)s::bigint);

-- batch_ids_of_request --
-- The batch ids staged under an upstream batch_id string (validation.request_batch_id).
select distinct batch_id
  from public.staging_imports
 where validation ->> 'request_batch_id' = %(request_batch_id)s
   and (%(tenant)s::text is null or tenant_id = %(tenant)s::text);

-- problems_list --
-- Problems matching the filters, most recently seen first, after the keyset cursor
-- (last_seen_at, id), as the calling operator (fn_problems_for_operator).
select *
  from public.fn_problems_for_operator(%(tenant)s::text, %(anomaly_type)s::text[],
                                       %(status)s::text[], %(severity)s::text[],
                                       %(batch_id)s::uuid[], %(project_key)s::text,
                                       %(overdue)s::boolean, %(search)s::text,
                                       %(after_at)s::timestamptz, %(after_id)s::bigint,
                                       %(limit)s::integer);

-- problem_get --
-- One problem, as the calling operator (fn_problem_get; P0002 when there is none).
select * from public.fn_problem_get(%(problem_id)s::bigint);

-- problem_occurrences --
-- A problem's newest occurrences, as the calling operator (fn_problem_occurrences).
select id, tenant_id, batch_id, row_index, project_key, anomaly_type, severity, payload_excerpt,
       correlation_id, created_at, status, acknowledged_at, acknowledged_by, resolved_at,
       problem_id
  from public.fn_problem_occurrences(%(problem_id)s::bigint, %(limit)s::integer);

-- problem_events --
-- A problem's status history, oldest first, as the calling operator (fn_problem_events).
select at, actor, action, resolution, note
  from public.fn_problem_events(%(problem_id)s::bigint);

-- problem_set_status --
-- Acknowledge or resolve one problem as the calling operator, recording the JWT sub
-- (fn_problem_set_status).
select * from public.fn_problem_set_status(%(problem_id)s::bigint, %(status)s::text,
                                           %(note)s::text);

-- problem_groups_list --
-- Problems matching the filters grouped by (tenant, anomaly type, unknown value), newest last
-- seen first, after the keyset cursor (last_seen_at, group_id), as the calling operator
-- (fn_problem_groups_for_operator).
select *
  from public.fn_problem_groups_for_operator(%(tenant)s::text, %(anomaly_type)s::text[],
                                             %(status)s::text[], %(severity)s::text[],
                                             %(batch_id)s::uuid[], %(project_key)s::text,
                                             %(overdue)s::boolean, %(search)s::text,
                                             %(after_at)s::timestamptz, %(after_id)s::bigint,
                                             %(limit)s::integer);

-- problem_group_set_status --
-- Acknowledge or resolve every problem of a group that can take the step, as the calling
-- operator: one row per problem, done or skipped and why (fn_problem_group_set_status).
select *
  from public.fn_problem_group_set_status(%(tenant_id)s::text, %(anomaly_type)s::text,
                                          %(unknown_value)s::text, %(status)s::text,
                                          %(note)s::text);

-- problems_set_status_each --
-- Acknowledge or resolve the given problems that can take the step, as the calling operator:
-- one row per id asked for, done or skipped and why (fn_problems_set_status_each).
select *
  from public.fn_problems_set_status_each(%(ids)s::bigint[], %(status)s::text,
                                          %(note)s::text);

-- anomalies_stats --
-- Counts by tenant, type and severity, as the calling operator: the window's occurrences
-- (count, unresolved, last_seen_at: fn_anomalies_stats) beside the problems' figures
-- (fn_problem_stats: open, acknowledged and new problems, occurrences, overdue clocks; resolved
-- problems never count there).
select coalesce(a.tenant_id, p.tenant_id) as tenant_id,
       coalesce(a.anomaly_type, p.anomaly_type) as anomaly_type,
       coalesce(a.severity, p.severity) as severity,
       coalesce(a.count, 0) as count, coalesce(a.unresolved, 0) as unresolved, a.last_seen_at,
       coalesce(p.open_problems, 0) as open_problems,
       coalesce(p.acknowledged_problems, 0) as acknowledged_problems,
       coalesce(p.new_problems, 0) as new_problems,
       coalesce(p.occurrences, 0) as occurrences,
       coalesce(p.overdue_ack, 0) as overdue_ack,
       coalesce(p.overdue_resolve, 0) as overdue_resolve
  from public.fn_anomalies_stats(%(window_hours)s::integer) a
  full join public.fn_problem_stats(%(window_hours)s::integer) p
    on p.tenant_id = a.tenant_id and p.anomaly_type = a.anomaly_type
   and p.severity = a.severity
 where (%(tenant)s::text is null or coalesce(a.tenant_id, p.tenant_id) = %(tenant)s::text)
   and (%(severity)s::text[] is null
        or coalesce(a.severity, p.severity) = any (%(severity)s::text[]))
   and (%(anomaly_type)s::text[] is null
        or coalesce(a.anomaly_type, p.anomaly_type) = any (%(anomaly_type)s::text[]))
 order by 1, 2, 3;

-- anomaly_set_status --
-- Acknowledge or resolve one anomaly as the calling operator (fn_anomaly_set_status).
select id, tenant_id, status, acknowledged_at, acknowledged_by, resolved_at
  from public.fn_anomaly_set_status(%(anomaly_id)s::bigint, %(status)s::text);

-- membership_backfill --
-- Recompute canonical partner/DS/RM and memberships from today's directories (all tenants when null).
select public.fn_projects_membership_backfill(%(tenant_id)s) as counts;

-- cleanup_import_data --
-- Retention: delete old anomalies and staging rows, counting them into import_retention_stats.
select public.fn_cleanup_import_data(
    %(imports_days)s, %(anomalies_days)s, %(chunk_size)s, %(max_chunks)s) as counts;

-- retention_chunk_as_runner --
-- One retention chunk as the single runner across replicas: the advisory lock
-- (vocabulary.RETENTION_LOCK) is transaction-scoped, so it holds through a transaction-mode
-- pooler too; counts is null when another runner holds it.
select case when pg_try_advisory_xact_lock(%(lock_class)s::integer, %(lock_key)s::integer)
            then public.fn_cleanup_import_data(
                     %(imports_days)s, %(anomalies_days)s, %(chunk_size)s, 1)
       end as counts;

-- retention_cron_job --
-- This database's pg_cron job imports-anomalies-retention, or null.
select public.fn_import_retention_cron_job() as job;

-- migrations_applied --
-- Applied migrations with their checksums.
select version, checksum from public.projects_import_migrations order by version;

-- verify_relations --
-- Kind (r/p table, v view) and row-level security of public relations by name; null kind when missing.
select e.name, c.relkind::text as kind, coalesce(c.relrowsecurity, false) as rls
  from unnest(%(names)s::text[]) as e(name)
  left join pg_catalog.pg_class c on c.oid = to_regclass('public.' || quote_ident(e.name));

-- verify_functions --
-- Whether each named function exists in schema public.
select e.name,
       exists (select 1 from pg_catalog.pg_proc p
                 join pg_catalog.pg_namespace n on n.oid = p.pronamespace
                where n.nspname = 'public' and p.proname = e.name) as present
  from unnest(%(names)s::text[]) as e(name);

-- verify_batch_identity --
-- Whether staging_imports keys a batch by UNIQUE (tenant_id, batch_id) and indexes
-- (tenant_id, batch_checksum) without making it unique (0034: a replay is the same batch).
select exists (
           select 1
             from pg_catalog.pg_constraint c
            where c.conrelid = to_regclass('public.staging_imports')
              and c.contype in ('u', 'p')
              and array(select a.attname::text
                          from unnest(c.conkey) with ordinality as k(attnum, ord)
                          join pg_catalog.pg_attribute a
                            on a.attrelid = c.conrelid and a.attnum = k.attnum
                         order by k.ord) = array['tenant_id', 'batch_id'])
       and exists (
           select 1
             from pg_catalog.pg_index i
            where i.indrelid = to_regclass('public.staging_imports')
              and not i.indisunique
              and array(select a.attname::text
                          from unnest(i.indkey) with ordinality as k(attnum, ord)
                          join pg_catalog.pg_attribute a
                            on a.attrelid = i.indrelid and a.attnum = k.attnum
                         order by k.ord) = array['tenant_id', 'batch_checksum'])
       and not exists (
           select 1
             from pg_catalog.pg_index i
            where i.indrelid = to_regclass('public.staging_imports')
              and i.indisunique
              and array(select a.attname::text
                          from unnest(i.indkey) with ordinality as k(attnum, ord)
                          join pg_catalog.pg_attribute a
                            on a.attrelid = i.indrelid and a.attnum = k.attnum
                         order by k.ord) = array['tenant_id', 'batch_checksum']) as present;

-- verify_anomalies_rpc --
-- Call the operator RPC under the current claims (refused unless operator/admin).
select 1 as answered from public.fn_anomalies_for_operator(1, null, null) limit 1;

-- project_members_of_tenant --
-- Active memberships of one tenant's projects.
select project_key, member_type, member, role
  from public.vw_project_members
 where tenant_id = %(tenant_id)s
 order by project_key, member_type, role, member;

-- anomalies_of_tenant --
-- One tenant's anomalies with their lifecycle status.
select project_key, anomaly_type, severity, status
  from public.import_anomalies
 where tenant_id = %(tenant_id)s
 order by project_key, anomaly_type;

-- dashboard_user_insert --
-- Create a dashboard login; returns nothing when the email already has one.
insert into public.dashboard_users (email, password_hash, role)
values (%(email)s, %(password_hash)s, %(role)s)
on conflict (email) do nothing
returning email;

-- dashboard_user_update --
-- Change a login's password and role, and lift any lock.
update public.dashboard_users
   set password_hash = %(password_hash)s, role = %(role)s, failed_logins = 0,
       locked_until = null, updated_at = now()
 where email = %(email)s;

-- dashboard_user_delete --
-- Delete a login (its sessions go with it).
delete from public.dashboard_users where email = %(email)s returning email;

-- dashboard_user_list --
-- Every login with its role and any sign-in lock still in force.
select email, role, created_at,
       case when locked_until > now() then locked_until end as locked_until
  from public.dashboard_users
 order by email;

-- dashboard_user_get --
-- A login for sign-in, with how many seconds it stays locked (0 when it is not).
select email, role, password_hash,
       greatest(0, ceil(extract(epoch from (locked_until - now()))))::integer as locked_seconds
  from public.dashboard_users
 where email = %(email)s;

-- dashboard_user_login_failed --
-- Count a wrong password (wrong passwords in a row, for `users list`); no lock: sign-in backs
-- off in the service (api/throttle.py), where unknown emails are counted alike.
update public.dashboard_users
   set failed_logins = failed_logins + 1
 where email = %(email)s;

-- dashboard_user_login_succeeded --
-- Reset the failure count; store a fresh hash when the hashing parameters changed.
update public.dashboard_users
   set failed_logins = 0, locked_until = null,
       password_hash = coalesce(%(password_hash)s::text, password_hash)
 where email = %(email)s;

-- dashboard_sessions_purge_expired --
-- Forget sessions past their expiry.
delete from public.dashboard_sessions where expires_at <= now();

-- dashboard_session_insert --
-- Store a new session by the SHA-256 of its token.
insert into public.dashboard_sessions (token_sha256, email, expires_at)
values (%(token_sha256)s, %(email)s, now() + make_interval(secs => %(lifetime_seconds)s));

-- dashboard_session_user --
-- The login behind a live session token's hash.
select u.email, u.role
  from public.dashboard_sessions s
  join public.dashboard_users u using (email)
 where s.token_sha256 = %(token_sha256)s and s.expires_at > now();

-- dashboard_session_delete --
-- Sign out: forget one session.
delete from public.dashboard_sessions where token_sha256 = %(token_sha256)s;

-- dashboard_sessions_end_for_user --
-- End every session of a login (its password or role changed).
delete from public.dashboard_sessions where email = %(email)s;

-- dashboard_anomaly_stats_24h --
-- Anomalies of the last 24 hours by tenant, anomaly_type and severity (the view; RLS applies).
select tenant_id, anomaly_type, severity, count::integer as count
  from public.vw_import_anomalies_stats_24h
 order by tenant_id, anomaly_type, severity;

-- dashboard_tenant_glance --
-- Per tenant, at a glance: problems open, acknowledged, overdue (an SLA clock passed) and new
-- today (first seen since midnight in the tenant's zone, not resolved), the same problems the
-- worklist counts, read from the problem rollups; freshness (vw_tenant_freshness); and the last 24 hours' import requests
-- with the deliberate refusals of a paused tenant (423) apart from the rest.
select f.tenant_id, f.timezone, f.last_success_at, f.expected_at, f.late, f.paused,
       f.paused_reason, coalesce(p.open, 0) as open,
       coalesce(p.acknowledged, 0) as acknowledged, coalesce(p.overdue, 0) as overdue,
       coalesce(p.new_today, 0) as new_today, coalesce(r.requests, 0) as requests,
       coalesce(r.refused_paused, 0) as refused_paused, coalesce(r.succeeded, 0) as succeeded
  from public.vw_tenant_freshness f
  left join lateral (
    -- from the problem rollups (0039): each clock's full hours, plus its edge hour counted
    -- from import_problems' partial indexes
    select (sum(ru.problems) filter (where ru.clock = 'first_seen'
                                        and ru.status = 'open'))::integer as open,
           (sum(ru.problems) filter (where ru.clock = 'first_seen'
                                        and ru.status = 'acknowledged'))::integer as acknowledged,
           (coalesce(sum(ru.problems) filter (
                where ru.clock = 'overdue'
                  and ru.hour < date_bin('1 hour', now(), timestamptz '2000-01-01Z')), 0)
            + (select count(*) from public.import_problems pr
                where pr.tenant_id = f.tenant_id and pr.status <> 'resolved'
                  and least(case when pr.status = 'open' then pr.ack_due_at end,
                            pr.resolve_due_at)
                      >= date_bin('1 hour', now(), timestamptz '2000-01-01Z')
                  and least(case when pr.status = 'open' then pr.ack_due_at end,
                            pr.resolve_due_at) < now()))::integer as overdue,
           (coalesce(sum(ru.problems) filter (
                where ru.clock = 'first_seen' and ru.hour > date_bin('1 hour', d.midnight,
                                                                     timestamptz '2000-01-01Z')),
                     0)
            + (select count(*) from public.import_problems pr
                where pr.tenant_id = f.tenant_id and pr.status <> 'resolved'
                  and pr.first_seen_at >= d.midnight
                  and pr.first_seen_at < date_bin('1 hour', d.midnight,
                                                  timestamptz '2000-01-01Z')
                                         + interval '1 hour'))::integer as new_today
      from (select date_trunc('day', now() at time zone f.timezone) at time zone f.timezone
                       as midnight) d
      left join public.import_problem_rollups ru on ru.tenant_id = f.tenant_id
     group by d.midnight) p on true
  left join lateral (
    select (count(*) filter (where q.status <> 423))::integer as requests,
           (count(*) filter (where q.status = 423))::integer as refused_paused,
           (count(*) filter (where q.status between 200 and 299))::integer as succeeded
      from public.import_requests q
     where q.tenant_id = f.tenant_id and q.created_at >= now() - interval '24 hours') r on true
 order by f.tenant_id;

-- dashboard_import_stats_24h --
-- Import requests of the last 24 hours by tenant: total (without a paused tenant's deliberate
-- refusals, 423), succeeded, replayed, rows merged.
select tenant_id, (count(*) filter (where status <> 423))::integer as requests,
       (count(*) filter (where status between 200 and 299))::integer as succeeded,
       (count(*) filter (where replayed))::integer as replayed,
       coalesce(sum(rows) filter (where status = 200 and not replayed), 0)::bigint
           as rows_merged
  from public.import_requests
 where created_at >= now() - interval '24 hours'
 group by tenant_id
 order by tenant_id;

-- dashboard_recent_anomalies --
-- The most recent anomalies, payload_excerpt only (never the staged raw payload).
select id, tenant_id, batch_id, row_index, project_key, anomaly_type, severity,
       payload_excerpt, correlation_id, created_at, status
  from public.import_anomalies
 order by created_at desc, id desc
 limit %(limit)s;

-- dashboard_import_outcomes --
-- Import requests per time bucket on the wall clock of %(zone)s (hours, or days from local
-- midnight; bucket_start is that local time), of one tenant or all: total (without a paused
-- tenant's deliberate refusals, 423), succeeded (2xx), and p50/p95 latency (parse + merge) of
-- merged batches. Every bucket of the window is listed, empty or not.
with buckets as (
    select generate_series(
               date_bin(%(step)s::interval, now() at time zone %(zone)s,
                        timestamp '2000-01-01 00:00:00')
                   - (%(buckets)s - 1) * %(step)s::interval,
               date_bin(%(step)s::interval, now() at time zone %(zone)s,
                        timestamp '2000-01-01 00:00:00'),
               %(step)s::interval) as bucket_start
), requests as (
    select date_bin(%(step)s::interval, r.created_at at time zone %(zone)s,
                    timestamp '2000-01-01 00:00:00') as bucket_start,
           (count(*) filter (where r.status <> 423))::integer as requests,
           (count(*) filter (where r.status between 200 and 299))::integer as succeeded,
           percentile_cont(0.5) within group (order by coalesce(r.parse_ms, 0) + r.merge_ms)
               filter (where r.status = 200 and not r.replayed and r.merge_ms is not null)
               as p50_ms,
           percentile_cont(0.95) within group (order by coalesce(r.parse_ms, 0) + r.merge_ms)
               filter (where r.status = 200 and not r.replayed and r.merge_ms is not null)
               as p95_ms
      from public.import_requests r
     where r.created_at >= ((select min(bucket_start) from buckets) at time zone %(zone)s)
       and (%(tenant)s::text is null or r.tenant_id = %(tenant)s::text)
     group by 1
)
select b.bucket_start, coalesce(r.requests, 0) as requests,
       coalesce(r.succeeded, 0) as succeeded, r.p50_ms, r.p95_ms
  from buckets b
  left join requests r using (bucket_start)
 order by b.bucket_start;

-- dashboard_anomalies_over_time --
-- Anomalies per time bucket on the wall clock of %(zone)s and anomaly_type since
-- window_start (that zone's local time), of one tenant or all (RLS applies).
select date_bin(%(step)s::interval, created_at at time zone %(zone)s,
                timestamp '2000-01-01 00:00:00') as bucket_start,
       anomaly_type, count(*)::integer as anomalies
  from public.import_anomalies
 where created_at >= (%(window_start)s::timestamp at time zone %(zone)s)
   and (%(tenant)s::text is null or tenant_id = %(tenant)s::text)
 group by 1, 2
 order by 1, 2;

-- dashboard_membership_changes --
-- Membership changes of the most recent merged batches (operator/admin only).
select tenant_id, batch_id, staged_at, row_count, org_memberships_upserted,
       user_memberships_upserted, memberships_ended
  from public.fn_dashboard_membership_changes(%(window_hours)s, %(limit)s);

-- console_tenants --
-- Tenants an operator may see, with their time zones (the console shows times in them).
select tenant_id, timezone from public.tenants order by tenant_id;

-- console_problems --
-- One page of the worklist (fn_problems_for_operator's filters, plus a last-seen date range and
-- an exact unknown value), in the chosen order, with the total the filters match, each
-- tenant's time zone, and the batch that first saw the problem with its upstream id and import.
select page.*, first.batch_id as first_batch_id, first.request_batch_id as first_batch,
       first.import_id as first_import_id
  from (
    select p.id, p.tenant_id, p.project_key, p.anomaly_type, p.severity, p.unknown_value,
           p.status, p.first_seen_at, p.last_seen_at, p.occurrences, p.last_batch_id,
           p.payload_excerpt, p.acknowledged_at, p.acknowledged_by, p.resolved_at,
           p.resolved_by, p.resolution, p.regressed, p.ack_due_at, p.resolve_due_at, p.note,
           coalesce(t.timezone, 'UTC') as timezone, count(*) over () as total
      from public.fn_problems_for_operator(
               p_tenant => %(tenant)s::text, p_anomaly_type => %(anomaly_type)s::text[],
               p_status => %(status)s::text[], p_severity => %(severity)s::text[],
               p_batch_id => %(batch_id)s::uuid[], p_overdue => %(overdue)s::boolean,
               p_search => %(search)s::text, p_limit => null::integer) p
      left join public.tenants t on t.tenant_id = p.tenant_id
     where (%(seen_from)s::timestamptz is null
            or p.last_seen_at >= %(seen_from)s::timestamptz)
       and (%(seen_until)s::timestamptz is null
            or p.last_seen_at < %(seen_until)s::timestamptz)
       and (%(value)s::text is null or p.unknown_value = %(value)s::text)
     order by case when %(sort)s = 'due' then p.resolve_due_at end asc nulls last,
              case when %(sort)s = 'first_seen' then p.first_seen_at end desc,
              case when %(sort)s = 'occurrences' then p.occurrences end desc,
              case when %(sort)s = 'project' then p.project_key end asc,
              p.last_seen_at desc, p.id desc
     limit %(limit)s offset %(offset)s) page
  left join lateral (
    select a.batch_id, r.request_batch_id, r.id as import_id
      from public.import_anomalies a
      left join lateral (select q.id, q.request_batch_id from public.import_requests q
                          where q.tenant_id = a.tenant_id and q.batch_id = a.batch_id
                            and q.status between 200 and 299
                          order by q.id limit 1) r on true
     where a.tenant_id = page.tenant_id and a.problem_id = page.id
     order by a.created_at, a.id limit 1) first on true
 order by case when %(sort)s = 'due' then page.resolve_due_at end asc nulls last,
          case when %(sort)s = 'first_seen' then page.first_seen_at end desc,
          case when %(sort)s = 'occurrences' then page.occurrences end desc,
          case when %(sort)s = 'project' then page.project_key end asc,
          page.last_seen_at desc, page.id desc;

-- console_problem_groups --
-- The worklist's causes: fn_problem_groups_for_operator over the same filters (an exact unknown
-- value too), with each tenant's time zone and the import that first saw the cause.
select g.*, coalesce(t.timezone, 'UTC') as timezone, r.request_batch_id as first_batch,
       r.id as first_import_id
  from public.fn_problem_groups_for_operator(
           p_tenant => %(tenant)s::text, p_anomaly_type => %(anomaly_type)s::text[],
           p_status => %(status)s::text[], p_severity => %(severity)s::text[],
           p_batch_id => %(batch_id)s::uuid[], p_overdue => %(overdue)s::boolean,
           p_search => %(search)s::text, p_limit => %(limit)s::integer) g
  left join public.tenants t on t.tenant_id = g.tenant_id
  left join lateral (select q.id, q.request_batch_id from public.import_requests q
                      where q.tenant_id = g.tenant_id and q.batch_id = g.first_batch_id
                        and q.status between 200 and 299
                      order by q.id limit 1) r on true
 where %(value)s::text is null or g.unknown_value = %(value)s::text
 order by g.last_seen_at desc, g.group_id desc;

-- console_batch_import --
-- The import request that staged a batch (the first one answered 2xx), for a link to it.
select id from public.import_requests
 where batch_id = %(batch_id)s::uuid and status between 200 and 299
 order by id limit 1;

-- console_problem --
-- One problem with its tenant's time zone (fn_problem_get: P0002 when missing).
select p.*, coalesce(t.timezone, 'UTC') as timezone
  from public.fn_problem_get(%(id)s::bigint) p
  left join public.tenants t on t.tenant_id = p.tenant_id;

-- console_problem_occurrences --
-- A problem's occurrences across batches, newest first (fn_problem_occurrences), each with the
-- upstream batch id and the import request that staged its batch.
select o.id, o.batch_id, o.row_index, o.payload_excerpt, o.correlation_id, o.created_at,
       o.status, r.request_batch_id, r.id as import_id
  from public.fn_problem_occurrences(%(id)s::bigint, %(limit)s::integer) o
  left join lateral (select q.id, q.request_batch_id from public.import_requests q
                      where q.tenant_id = o.tenant_id and q.batch_id = o.batch_id
                        and q.status between 200 and 299
                      order by q.id limit 1) r on true
 order by o.created_at desc, o.id desc;

-- console_problem_events --
-- A problem's history of status changes, oldest first (fn_problem_events). An automatic step
-- (actor system) taken by a merge names its batch: the merge records its occurrences and its
-- problem events in one transaction, so at one now().
select e.at, e.actor, e.action, e.resolution, e.note, b.batch_id as by_batch_id,
       r.request_batch_id as by_batch, r.id as by_import_id
  from public.fn_problem_events(%(id)s::bigint) e
  left join lateral (select a.batch_id from public.import_anomalies a
                      where e.actor = 'system' and a.tenant_id = e.tenant_id
                        and a.created_at = e.at
                      limit 1) b on true
  left join lateral (select q.id, q.request_batch_id from public.import_requests q
                      where q.tenant_id = e.tenant_id and q.batch_id = b.batch_id
                        and q.status between 200 and 299
                      order by q.id limit 1) r on true
 order by e.at, e.id;

-- console_batch_problems --
-- What one batch's merge did to problems: those it opened or re-opened (their event is at its
-- occurrences' time) and those it resolved as data_fix (an event at the same time, the merge's
-- now()); a batch that recorded no occurrence has no time to match, and lists none.
with merged as (
    select min(a.created_at) as at from public.import_anomalies a
     where a.tenant_id = %(tenant_id)s and a.batch_id = %(batch_id)s::uuid
)
select e.action, pr.id, pr.project_key, pr.anomaly_type, pr.unknown_value, pr.status
  from merged m
  join public.import_problem_events e
    on e.tenant_id = %(tenant_id)s and e.at = m.at and e.actor = 'system'
   and e.action in ('opened', 'reopened', 'resolved')
  join public.import_problems pr on pr.tenant_id = e.tenant_id and pr.id = e.problem_id
 order by case e.action when 'opened' then 1 when 'reopened' then 2 else 3 end, pr.id
 limit %(limit)s;

-- console_project --
-- A project's current values and canonical resolution (RLS: operators).
select stage_application, delivery_partner, developer_class, relationship_manager,
       deployment_specialist, rm_preferred_username, residential, commercial, essential,
       premises_count, stage_application_created, partner_org, ds_username, rm_username,
       last_batch_id, updated_at
  from public.projects
 where tenant_id = %(tenant_id)s and stage_application = %(project_key)s;

-- console_project_members --
-- A project's active memberships (vw_project_members).
select member_type, member, role, since
  from public.vw_project_members
 where tenant_id = %(tenant_id)s and project_key = %(project_key)s
 order by role, member;

-- console_project_problems --
-- A project's problems, any status, most recently seen first (RLS: operators).
select id, anomaly_type, severity, unknown_value, status, resolution, first_seen_at,
       last_seen_at, occurrences
  from public.import_problems
 where tenant_id = %(tenant_id)s and project_key = %(project_key)s
 order by last_seen_at desc, id desc
 limit %(limit)s;

-- console_project_batches --
-- The batches known to have touched a project: the last one that merged it and those that
-- carried its problems' occurrences, each with the import request that staged it (the
-- first 2xx one), newest first.
with batches as (
    select p.last_batch_id as batch_id
      from public.projects p
     where p.tenant_id = %(tenant_id)s and p.stage_application = %(project_key)s
       and p.last_batch_id is not null
    union
    select a.batch_id
      from public.import_problems pr
      join public.import_anomalies a on a.tenant_id = pr.tenant_id and a.problem_id = pr.id
     where pr.tenant_id = %(tenant_id)s and pr.project_key = %(project_key)s
)
select b.batch_id, r.id as import_id, r.request_batch_id, r.created_at as received_at,
       b.batch_id = (select last_batch_id from public.projects
                      where tenant_id = %(tenant_id)s
                        and stage_application = %(project_key)s) as last
  from batches b
  left join lateral (
      select id, request_batch_id, created_at from public.import_requests r
       where r.tenant_id = %(tenant_id)s and r.batch_id = b.batch_id
         and r.status between 200 and 299
       order by r.id limit 1) r on true
 order by r.created_at desc nulls last, b.batch_id
 limit %(limit)s;

-- console_suggestions --
-- Directory entries an unknown value most likely meant (fn_directory_suggestions).
select directory, canonical, username, display_name, matched, active, score
  from public.fn_directory_suggestions(%(tenant_id)s, %(anomaly_type)s, %(value)s, 5);

-- console_partners --
-- A tenant's partner aliases, optionally those whose alias or canonical contains a text.
select alias, canonical, updated_at
  from public.partner_normalization
 where tenant_id = %(tenant_id)s
   and (%(search)s::text is null or strpos(lower(alias), lower(%(search)s::text)) > 0
        or strpos(lower(canonical), lower(%(search)s::text)) > 0)
 order by lower(canonical), lower(alias)
 limit %(limit)s;

-- console_people --
-- A tenant's deployment specialists (directory 'ds') or relationship managers ('rm'),
-- optionally those whose username or display name contains a text.
select preferred_username, display_name, active, updated_at
  from (select preferred_username, display_name, active, updated_at from public.ds_directory
         where %(directory)s = 'ds' and tenant_id = %(tenant_id)s
        union all
        select preferred_username, display_name, active, updated_at from public.rm_directory
         where %(directory)s = 'rm' and tenant_id = %(tenant_id)s) d
 where %(search)s::text is null
    or strpos(lower(preferred_username), lower(%(search)s::text)) > 0
    or strpos(lower(coalesce(display_name, '')), lower(%(search)s::text)) > 0
 order by active desc, lower(preferred_username)
 limit %(limit)s;

-- console_partner_set --
-- Add or change a partner alias as the signed-in admin (fn_directory_partner_set).
select public.fn_directory_partner_set(%(tenant_id)s, %(alias)s, %(canonical)s,
                                       %(problem_id)s::bigint) as result;

-- console_partner_remove --
-- Remove a partner alias as the signed-in admin (fn_directory_partner_remove).
select public.fn_directory_partner_remove(%(tenant_id)s, %(alias)s) as result;

-- console_person_set --
-- Add, change or (de)activate a DS or RM as the signed-in admin (fn_directory_person_set).
select public.fn_directory_person_set(%(tenant_id)s, %(directory)s, %(username)s,
                                      %(display_name)s, %(active)s, %(problem_id)s::bigint)
       as result;

-- console_change_apply --
-- Re-resolve the projects a directory change affects (fn_directory_change_apply).
select public.fn_directory_change_apply(%(tenant_id)s, %(change_id)s::bigint) as result;

-- console_change_credit --
-- Credit the problems a directory change resolved to the admin who made it
-- (fn_directory_change_credit).
select public.fn_directory_change_credit(%(tenant_id)s, %(change_id)s::bigint) as result;

-- console_change_undo --
-- Revert a directory change, re-resolve its projects and reopen what it resolved
-- (fn_directory_change_undo).
select public.fn_directory_change_undo(%(tenant_id)s, %(change_id)s::bigint) as result;

-- fix_savepoint --
-- Mark where a directory fix starts inside its transaction (its preview is undone to here).
savepoint directory_fix;

-- fix_rollback_to_savepoint --
-- Undo the directory fix tried since fix_savepoint, keeping the transaction.
rollback to savepoint directory_fix;

-- fix_changed_projects --
-- The tenant's projects this transaction re-resolved (updated_at is the transaction's now()).
select stage_application, partner_org, ds_username, rm_username
  from public.projects
 where tenant_id = %(tenant_id)s and updated_at = now()
 order by stage_application;

-- fix_projects --
-- Some projects' canonical partner, DS and RM as they stand.
select stage_application, partner_org, ds_username, rm_username
  from public.projects
 where tenant_id = %(tenant_id)s and stage_application = any (%(keys)s::text[])
 order by stage_application;

-- fix_resolved_problems --
-- The tenant's problems this transaction resolved as directory_fix.
select id, project_key, anomaly_type, unknown_value, resolved_by
  from public.import_problems
 where tenant_id = %(tenant_id)s and status = 'resolved' and resolution = 'directory_fix'
   and resolved_at = now()
 order by id;

-- fix_reopened_problems --
-- The tenant's problems this transaction reopened (their history says so).
select pr.id, pr.project_key, pr.anomaly_type, pr.unknown_value, pr.status
  from public.import_problem_events e
  join public.import_problems pr on pr.tenant_id = e.tenant_id and pr.id = e.problem_id
 where e.tenant_id = %(tenant_id)s and e.action = 'reopened' and e.at = now()
 order by pr.id;

-- console_changes --
-- The directory audit, newest first, optionally for one tenant or one change.
select c.tenant_id, c.id, c.at, c.actor, c.action, c.directory, c.before, c.after,
       c.problem_id, c.effect, coalesce(t.timezone, 'UTC') as timezone, c.undo_of,
       (select u.id from public.directory_changes u
         where u.tenant_id = c.tenant_id and u.undo_of = c.id) as undone_by
  from public.directory_changes c
  left join public.tenants t on t.tenant_id = c.tenant_id
 where (%(tenant_id)s::text is null or c.tenant_id = %(tenant_id)s::text)
   and (%(change_id)s::bigint is null or c.id = %(change_id)s::bigint)
 order by c.at desc, c.id desc
 limit %(limit)s offset %(offset)s;

-- alert_lock --
-- One alert evaluation at a time across replicas: transaction advisory lock, class 7302 key 2.
select pg_advisory_xact_lock(7302, 2);

-- alert_try_lock --
-- The scheduled evaluation skips when another replica holds the alert lock.
select pg_try_advisory_xact_lock(7302, 2) as locked;

-- alert_evaluate --
-- The runbook's alert and escalation rules for every tenant over the window (fn_alert_evaluate).
select tenant_id, window_start, window_end, occurrences, errors, overdue, open_problems,
       new_problems, by_type, by_severity, problem_ids, batch_ids, alerting, reasons,
       consecutive_windows, ds_rm_problems_24h, escalate, escalation_reasons,
       escalation_problem_ids, alert_fingerprint, escalation_fingerprint, alert_suppressed,
       escalation_suppressed, alert_pending_id, escalation_pending_id
  from public.fn_alert_evaluate(%(window_hours)s::integer, %(min_occurrences)s::integer,
                                %(suppress_hours)s::numeric, %(escalate_windows)s::integer,
                                %(escalate_ds_rm)s::integer, %(alert_target)s::text,
                                %(escalation_target)s::text);

-- alert_delivery_insert --
-- Queue one delivery, due now.
insert into public.alert_deliveries (tenant_id, kind, fingerprint, problem_ids, batch_ids,
                                     reasons, window_start, window_end, body, next_retry_at)
values (%(tenant_id)s, %(kind)s, %(fingerprint)s, %(problem_ids)s, %(batch_ids)s,
        %(reasons)s, %(window_start)s, %(window_end)s, %(body)s, now())
returning tenant_id, id, kind;

-- alert_held_insert --
-- Queue a held-batch alert (0037), due now, unless one with the same fingerprint was queued
-- within the suppression window and did not fail.
insert into public.alert_deliveries (tenant_id, kind, fingerprint, problem_ids, batch_ids,
                                     reasons, window_start, window_end, body, next_retry_at)
select %(tenant_id)s, 'held', %(fingerprint)s, '{}', array[%(batch_id)s::uuid], %(reasons)s,
       now(), now(), %(body)s, now()
 where not exists (
        select 1 from public.alert_deliveries d
         where d.tenant_id = %(tenant_id)s and d.kind = 'held'
           and d.fingerprint = %(fingerprint)s and d.status <> 'failed'
           and d.created_at > now() - make_interval(secs => %(suppress_hours)s::float8 * 3600))
returning tenant_id, id, kind;

-- alert_deliveries_claim --
-- Take deliveries to post (the given ids, or every one due), counting the attempt and leasing
-- them for lease_seconds so no other replica posts them meanwhile.
update public.alert_deliveries d
   set attempts = d.attempts + 1,
       next_retry_at = now() + make_interval(secs => %(lease_seconds)s),
       updated_at = now()
  from (select tenant_id, id
          from public.alert_deliveries
         where status in ('pending', 'retrying')
           and case when %(ids)s::bigint[] is null then next_retry_at <= now()
                    else id = any (%(ids)s::bigint[]) end
         order by next_retry_at, id
         limit %(limit)s
           for update skip locked) c
 where d.tenant_id = c.tenant_id and d.id = c.id
returning d.tenant_id, d.id, d.kind, d.body, d.attempts;

-- alert_delivery_record --
-- The outcome of one attempt: delivered, retrying at next_retry_at, or failed for good.
update public.alert_deliveries
   set status = %(status)s, response_code = %(response_code)s, last_error = %(last_error)s,
       next_retry_at = %(next_retry_at)s,
       delivered_at = case when %(status)s = 'delivered' then now() end,
       updated_at = now()
 where tenant_id = %(tenant_id)s and id = %(id)s
returning tenant_id, id, kind, status, attempts, response_code, next_retry_at;

-- alert_deliveries_by_status --
-- Delivery log counts by tenant, kind and status (for /metrics).
select tenant_id, kind, status, count(*)::integer as deliveries
  from public.alert_deliveries
 group by 1, 2, 3;

-- metrics_problems --
-- Unresolved problems by tenant, type and severity: open, acknowledged, past an SLA clock
-- (fn_problem_metrics: from the rollups kept by the writes).
select tenant_id, anomaly_type, severity, open, acknowledged, overdue
  from public.fn_problem_metrics();

-- metrics_freshness --
-- Each tenant's last successful import (Unix seconds), lateness and pause (vw_tenant_freshness).
select tenant_id, extract(epoch from last_success_at)::double precision as last_success, late,
       paused
  from public.vw_tenant_freshness;

-- tenants_status --
-- Every tenant's freshness and pause, as the calling operator (fn_tenants_status_for_operator).
select * from public.fn_tenants_status_for_operator();

-- tenant_schedules --
-- Every tenant's daily schedule, for the tenants page's sentence (RLS: operators read).
select tenant_id, timezone, schedule_time, business_days
  from public.tenants
 order by tenant_id;

-- tenant_secrets_overview --
-- Per tenant: valid and expiring bearer secrets, next expiry, last rotation (never the secrets).
select * from public.fn_tenant_secrets_for_operator();

-- tenant_events_recent --
-- The latest pauses and resumes, newest first (RLS: operators read).
select tenant_id, id, at, action, reason, actor
  from public.tenant_events
 order by at desc, id desc
 limit %(limit)s;

-- tenant_set_paused --
-- Pause or resume a tenant as the calling admin (fn_tenant_set_paused).
select public.fn_tenant_set_paused(%(tenant_id)s::text, %(paused)s::boolean,
                                   %(reason)s::text) as result;

-- tenant_pause --
-- Quarantine a tenant as the service (fn_tenant_pause).
select public.fn_tenant_pause(%(tenant_id)s::text, %(reason)s::text, %(actor)s::text) as result;

-- tenant_resume --
-- Lift a tenant's quarantine as the service (fn_tenant_resume).
select public.fn_tenant_resume(%(tenant_id)s::text, %(actor)s::text) as result;

-- console_batch_changes --
-- One page of what a merged batch wrote, of one kind (RLS: operators read projects and
-- memberships): 'inserted' projects (created at one of the batch's merge times: its staging,
-- a publish, a re-run -- each merge writes in one transaction, so at its now()), 'changed'
-- projects (the batch is the last one that changed them, and did not insert them), memberships
-- 'started' (batch_id) and 'ended' (ended_batch_id) by it. `total` counts the whole list.
with changes as (
    select p.stage_application as project_key, null::text as member, null::text as role
      from public.projects p
     where %(kind)s = 'inserted' and p.tenant_id = %(tenant_id)s
       and p.created_at = any (%(times)s::timestamptz[])
    union all
    select p.stage_application, null, null
      from public.projects p
     where %(kind)s = 'changed' and p.tenant_id = %(tenant_id)s
       and p.last_batch_id = %(batch_id)s::uuid
       and p.created_at <> all (%(times)s::timestamptz[])
    union all
    select m.stage_application, m.org_name, m.role
      from public.project_org_memberships m
     where %(kind)s = 'started' and m.tenant_id = %(tenant_id)s
       and m.batch_id = %(batch_id)s::uuid
    union all
    select m.stage_application, m.username, m.role
      from public.project_user_memberships m
     where %(kind)s = 'started' and m.tenant_id = %(tenant_id)s
       and m.batch_id = %(batch_id)s::uuid
    union all
    select m.stage_application, m.org_name, m.role
      from public.project_org_memberships m
     where %(kind)s = 'ended' and m.tenant_id = %(tenant_id)s
       and m.ended_batch_id = %(batch_id)s::uuid
    union all
    select m.stage_application, m.username, m.role
      from public.project_user_memberships m
     where %(kind)s = 'ended' and m.tenant_id = %(tenant_id)s
       and m.ended_batch_id = %(batch_id)s::uuid
)
select project_key, member, role, count(*) over () as total
  from changes
 order by project_key, role, member
 limit %(limit)s offset %(offset)s;
