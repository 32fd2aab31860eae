-- Every runtime query of the service, by name. `-- name --` starts a query; the line after it
-- says what it does. Parameters use psycopg's %(name)s style.

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
-- Every tenant with its count of valid secrets.
select t.tenant_id, t.timezone, t.created_at,
       count(s.secret_id) filter (where s.expires_at is null or s.expires_at > now()) as secrets,
       max(s.created_at) as last_rotated_at
  from public.tenants t
  left join public.tenant_secrets s using (tenant_id)
 group by t.tenant_id
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
-- Lock, replay check, stage and merge one batch (fn_projects_import_submit).
select public.fn_projects_import_submit(
    %(tenant_id)s, %(source)s, %(batch_id)s, %(batch_checksum)s, %(checksum_version)s::smallint,
    %(raw)s, %(rows)s, %(correlation_id)s, %(validation)s) as result;

-- staging_get --
-- A staged batch, for a re-run.
select id, tenant_id, batch_id, source, raw, correlation_id, validation
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
                                    parse_ms, merge_ms, bytes, replayed)
values (%(tenant_id)s, %(correlation_id)s, %(batch_id)s, %(status)s, %(error_code)s, %(rows)s,
        %(parse_ms)s, %(merge_ms)s, %(bytes)s, %(replayed)s);
