-- Generated from the catalog of a freshly migrated database; do not edit.
-- Regenerate: .venv/bin/python -m projects_import.db.snapshot --write


table public.dashboard_sessions (rls)
    token_sha256 bytea not null
    email text not null
    created_at timestamp with time zone not null default now()
    expires_at timestamp with time zone not null
    constraint dashboard_sessions_email_fkey FOREIGN KEY (email) REFERENCES dashboard_users(email) ON UPDATE CASCADE ON DELETE CASCADE
    constraint dashboard_sessions_pkey PRIMARY KEY (token_sha256)
    constraint dashboard_sessions_token_sha256_check CHECK ((octet_length(token_sha256) = 32))

table public.dashboard_users (rls)
    email text not null
    password_hash text not null
    role text not null
    failed_logins integer not null default 0
    locked_until timestamp with time zone
    created_at timestamp with time zone not null default now()
    updated_at timestamp with time zone not null default now()
    constraint dashboard_users_email_check CHECK (((email = lower(btrim(email))) AND (email ~ '^[^@\s]+@[^@\s]+$'::text) AND (char_length(email) <= 254)))
    constraint dashboard_users_pkey PRIMARY KEY (email)
    constraint dashboard_users_role_check CHECK ((role ~ '^[a-z][a-z0-9_.-]{0,31}$'::text))

table public.ds_directory (rls)
    tenant_id text not null
    preferred_username text not null
    display_name text
    active boolean not null default true
    username_key text not null generated as fn_directory_key(preferred_username)
    updated_at timestamp with time zone not null default now()
    constraint ds_directory_pkey PRIMARY KEY (tenant_id, username_key)
    constraint ds_directory_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES tenants(tenant_id) ON DELETE CASCADE

table public.import_anomalies (rls)
    tenant_id text not null
    id bigint not null generated identity
    batch_id uuid not null
    staging_id uuid
    row_index integer not null
    project_key text
    anomaly_type text not null
    severity text not null
    payload_excerpt text
    correlation_id uuid
    created_at timestamp with time zone not null default now()
    status text not null default 'open'::text
    acknowledged_at timestamp with time zone
    acknowledged_by text
    resolved_at timestamp with time zone
    constraint import_anomalies_anomaly_type_check CHECK ((anomaly_type = ANY (ARRAY['UNKNOWN_DELIVERY_PARTNER'::text, 'UNKNOWN_DS'::text, 'UNKNOWN_RM'::text])))
    constraint import_anomalies_payload_excerpt_check CHECK ((char_length(payload_excerpt) <= 500))
    constraint import_anomalies_pkey PRIMARY KEY (tenant_id, id)
    constraint import_anomalies_severity_check CHECK ((severity = ANY (ARRAY['error'::text, 'warning'::text, 'info'::text])))
    constraint import_anomalies_status_check CHECK ((status = ANY (ARRAY['open'::text, 'acknowledged'::text, 'resolved'::text])))
    constraint import_anomalies_tenant_id_batch_id_row_index_anomaly_type_key UNIQUE (tenant_id, batch_id, row_index, anomaly_type)
    constraint import_anomalies_tenant_id_staging_id_fkey FOREIGN KEY (tenant_id, staging_id) REFERENCES staging_imports(tenant_id, id) ON DELETE SET NULL (staging_id)

table public.import_requests (rls)
    tenant_id text not null
    id bigint not null generated identity
    correlation_id uuid not null
    batch_id uuid
    status integer not null
    error_code text
    rows integer
    parse_ms numeric(12,2)
    merge_ms numeric(12,2)
    bytes bigint
    replayed boolean not null default false
    created_at timestamp with time zone not null default now()
    constraint import_requests_pkey PRIMARY KEY (tenant_id, id)
    constraint import_requests_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES tenants(tenant_id) ON DELETE CASCADE

table public.import_retention_stats (rls)
    tenant_id text not null
    stat_date date not null
    staging_imports_count bigint not null default 0
    import_anomalies_count bigint not null default 0
    last_updated_at timestamp with time zone not null default now()
    constraint import_retention_stats_pkey PRIMARY KEY (tenant_id, stat_date)

table public.organizations (rls)
    tenant_id text not null
    name text not null
    name_key text not null generated as fn_directory_key(name)
    created_at timestamp with time zone not null default now()
    constraint organizations_pkey PRIMARY KEY (tenant_id, name_key)
    constraint organizations_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES tenants(tenant_id) ON DELETE CASCADE

table public.partner_normalization (rls)
    tenant_id text not null
    alias text not null
    canonical text not null
    alias_key text not null generated as fn_directory_key(alias)
    updated_at timestamp with time zone not null default now()
    constraint partner_normalization_canonical_check CHECK ((btrim(canonical) <> ''::text))
    constraint partner_normalization_pkey PRIMARY KEY (tenant_id, alias_key)
    constraint partner_normalization_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES tenants(tenant_id) ON DELETE CASCADE

table public.project_org_memberships (rls)
    tenant_id text not null
    id bigint not null generated identity
    stage_application text not null
    org_name text not null
    role text not null default 'delivery_partner'::text
    since timestamp with time zone not null default now()
    ended_at timestamp with time zone
    batch_id uuid
    ended_batch_id uuid
    constraint project_org_memberships_pkey PRIMARY KEY (tenant_id, id)
    constraint project_org_memberships_role_check CHECK ((role = 'delivery_partner'::text))
    constraint project_org_memberships_tenant_id_stage_application_fkey FOREIGN KEY (tenant_id, stage_application) REFERENCES projects(tenant_id, stage_application) ON DELETE CASCADE

table public.project_user_memberships (rls)
    tenant_id text not null
    id bigint not null generated identity
    stage_application text not null
    username text not null
    role text not null
    since timestamp with time zone not null default now()
    ended_at timestamp with time zone
    batch_id uuid
    ended_batch_id uuid
    constraint project_user_memberships_pkey PRIMARY KEY (tenant_id, id)
    constraint project_user_memberships_role_check CHECK ((role = ANY (ARRAY['deployment_specialist'::text, 'relationship_manager'::text])))
    constraint project_user_memberships_tenant_id_stage_application_fkey FOREIGN KEY (tenant_id, stage_application) REFERENCES projects(tenant_id, stage_application) ON DELETE CASCADE

table public.projects (rls)
    tenant_id text not null
    stage_application text not null
    delivery_partner text
    developer_class text
    relationship_manager text
    deployment_specialist text
    rm_preferred_username text
    residential integer not null default 0
    commercial integer not null default 0
    essential integer not null default 0
    premises_count integer not null default 0
    stage_application_created date
    partner_org text
    ds_username text
    rm_username text
    source text
    last_batch_id uuid
    last_correlation_id uuid
    created_at timestamp with time zone not null default now()
    updated_at timestamp with time zone not null default now()
    constraint projects_commercial_check CHECK ((commercial >= 0))
    constraint projects_essential_check CHECK ((essential >= 0))
    constraint projects_pkey PRIMARY KEY (tenant_id, stage_application)
    constraint projects_premises_count_check CHECK ((premises_count >= 0))
    constraint projects_residential_check CHECK ((residential >= 0))
    constraint projects_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES tenants(tenant_id) ON DELETE CASCADE

table public.projects_import_migrations (rls)
    version text not null
    name text not null
    checksum text not null
    applied_at timestamp with time zone not null default now()
    constraint projects_import_migrations_pkey PRIMARY KEY (version)

table public.rm_directory (rls)
    tenant_id text not null
    preferred_username text not null
    display_name text not null
    active boolean not null default true
    username_key text not null generated as fn_directory_key(preferred_username)
    display_key text generated as fn_directory_key(display_name)
    updated_at timestamp with time zone not null default now()
    constraint rm_directory_pkey PRIMARY KEY (tenant_id, username_key)
    constraint rm_directory_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES tenants(tenant_id) ON DELETE CASCADE

table public.staging_imports (rls)
    tenant_id text not null
    id uuid not null default gen_random_uuid()
    batch_id uuid not null
    source text not null
    raw jsonb not null
    batch_checksum text not null
    checksum_version smallint not null default 1
    row_count integer not null
    correlation_id uuid not null
    validation jsonb not null default '{}'::jsonb
    created_at timestamp with time zone not null default now()
    constraint staging_imports_pkey PRIMARY KEY (tenant_id, id)
    constraint staging_imports_row_count_check CHECK ((row_count > 0))
    constraint staging_imports_tenant_id_batch_checksum_key UNIQUE (tenant_id, batch_checksum)
    constraint staging_imports_tenant_id_batch_id_key UNIQUE (tenant_id, batch_id)
    constraint staging_imports_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES tenants(tenant_id) ON DELETE CASCADE

table public.tenant_secrets (rls)
    tenant_id text not null
    secret_id text not null
    secret_hash text not null
    created_at timestamp with time zone not null default now()
    expires_at timestamp with time zone
    constraint tenant_secrets_pkey PRIMARY KEY (tenant_id, secret_id)
    constraint tenant_secrets_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES tenants(tenant_id) ON DELETE CASCADE

table public.tenants (rls)
    tenant_id text not null
    timezone text not null default 'UTC'::text
    created_at timestamp with time zone not null default now()
    constraint tenants_pkey PRIMARY KEY (tenant_id)
    constraint tenants_tenant_id_check CHECK ((tenant_id ~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$'::text))

index dashboard_sessions_email: CREATE INDEX dashboard_sessions_email ON public.dashboard_sessions USING btree (email)
index dashboard_sessions_expires: CREATE INDEX dashboard_sessions_expires ON public.dashboard_sessions USING btree (expires_at)
index dashboard_sessions_pkey: CREATE UNIQUE INDEX dashboard_sessions_pkey ON public.dashboard_sessions USING btree (token_sha256)
index dashboard_users_pkey: CREATE UNIQUE INDEX dashboard_users_pkey ON public.dashboard_users USING btree (email)
index ds_directory_pkey: CREATE UNIQUE INDEX ds_directory_pkey ON public.ds_directory USING btree (tenant_id, username_key)
index import_anomalies_created: CREATE INDEX import_anomalies_created ON public.import_anomalies USING btree (created_at DESC, id DESC)
index import_anomalies_id: CREATE INDEX import_anomalies_id ON public.import_anomalies USING btree (id)
index import_anomalies_pkey: CREATE UNIQUE INDEX import_anomalies_pkey ON public.import_anomalies USING btree (tenant_id, id)
index import_anomalies_staging: CREATE INDEX import_anomalies_staging ON public.import_anomalies USING btree (tenant_id, staging_id) WHERE (staging_id IS NOT NULL)
index import_anomalies_tenant_created: CREATE INDEX import_anomalies_tenant_created ON public.import_anomalies USING btree (tenant_id, created_at DESC, id DESC)
index import_anomalies_tenant_id_batch_id_row_index_anomaly_type_key: CREATE UNIQUE INDEX import_anomalies_tenant_id_batch_id_row_index_anomaly_type_key ON public.import_anomalies USING btree (tenant_id, batch_id, row_index, anomaly_type)
index import_anomalies_unresolved: CREATE INDEX import_anomalies_unresolved ON public.import_anomalies USING btree (tenant_id, project_key, anomaly_type) WHERE (status <> 'resolved'::text)
index import_requests_created: CREATE INDEX import_requests_created ON public.import_requests USING btree (created_at DESC)
index import_requests_pkey: CREATE UNIQUE INDEX import_requests_pkey ON public.import_requests USING btree (tenant_id, id)
index import_retention_stats_date: CREATE INDEX import_retention_stats_date ON public.import_retention_stats USING btree (stat_date DESC)
index import_retention_stats_pkey: CREATE UNIQUE INDEX import_retention_stats_pkey ON public.import_retention_stats USING btree (tenant_id, stat_date)
index organizations_pkey: CREATE UNIQUE INDEX organizations_pkey ON public.organizations USING btree (tenant_id, name_key)
index partner_normalization_canonical: CREATE INDEX partner_normalization_canonical ON public.partner_normalization USING btree (tenant_id, fn_directory_key(canonical))
index partner_normalization_pkey: CREATE UNIQUE INDEX partner_normalization_pkey ON public.partner_normalization USING btree (tenant_id, alias_key)
index project_org_memberships_active: CREATE UNIQUE INDEX project_org_memberships_active ON public.project_org_memberships USING btree (tenant_id, stage_application, role, org_name) WHERE (ended_at IS NULL)
index project_org_memberships_pkey: CREATE UNIQUE INDEX project_org_memberships_pkey ON public.project_org_memberships USING btree (tenant_id, id)
index project_user_memberships_active: CREATE UNIQUE INDEX project_user_memberships_active ON public.project_user_memberships USING btree (tenant_id, stage_application, role, username) WHERE (ended_at IS NULL)
index project_user_memberships_member: CREATE INDEX project_user_memberships_member ON public.project_user_memberships USING btree (tenant_id, username) WHERE (ended_at IS NULL)
index project_user_memberships_pkey: CREATE UNIQUE INDEX project_user_memberships_pkey ON public.project_user_memberships USING btree (tenant_id, id)
index projects_pkey: CREATE UNIQUE INDEX projects_pkey ON public.projects USING btree (tenant_id, stage_application)
index projects_import_migrations_pkey: CREATE UNIQUE INDEX projects_import_migrations_pkey ON public.projects_import_migrations USING btree (version)
index rm_directory_display: CREATE INDEX rm_directory_display ON public.rm_directory USING btree (tenant_id, display_key) WHERE active
index rm_directory_pkey: CREATE UNIQUE INDEX rm_directory_pkey ON public.rm_directory USING btree (tenant_id, username_key)
index staging_imports_created: CREATE INDEX staging_imports_created ON public.staging_imports USING btree (created_at)
index staging_imports_pkey: CREATE UNIQUE INDEX staging_imports_pkey ON public.staging_imports USING btree (tenant_id, id)
index staging_imports_tenant_id_batch_checksum_key: CREATE UNIQUE INDEX staging_imports_tenant_id_batch_checksum_key ON public.staging_imports USING btree (tenant_id, batch_checksum)
index staging_imports_tenant_id_batch_id_key: CREATE UNIQUE INDEX staging_imports_tenant_id_batch_id_key ON public.staging_imports USING btree (tenant_id, batch_id)
index tenant_secrets_pkey: CREATE UNIQUE INDEX tenant_secrets_pkey ON public.tenant_secrets USING btree (tenant_id, secret_id)
index tenant_secrets_secret_id: CREATE INDEX tenant_secrets_secret_id ON public.tenant_secrets USING btree (secret_id)
index tenants_pkey: CREATE UNIQUE INDEX tenants_pkey ON public.tenants USING btree (tenant_id)

view public.vw_import_anomalies_recent with (security_invoker=true):
    SELECT id, tenant_id, batch_id, staging_id, row_index, project_key, anomaly_type, severity, payload_excerpt, correlation_id, created_at, status, acknowledged_at, acknowledged_by, resolved_at FROM import_anomalies a WHERE (created_at >= (now() - '14 days'::interval));

view public.vw_import_anomalies_stats_24h with (security_invoker=true):
    SELECT tenant_id, anomaly_type, severity, count(*) AS count, count(*) FILTER (WHERE (status <> 'resolved'::text)) AS unresolved, max(created_at) AS last_seen_at FROM import_anomalies a WHERE (created_at >= (now() - '24:00:00'::interval)) GROUP BY tenant_id, anomaly_type, severity;

view public.vw_project_members with (security_invoker=true):
    SELECT project_org_memberships.tenant_id, project_org_memberships.stage_application AS project_key, 'org'::text AS member_type, project_org_memberships.org_name AS member, project_org_memberships.role, project_org_memberships.since FROM project_org_memberships WHERE (project_org_memberships.ended_at IS NULL) UNION ALL SELECT project_user_memberships.tenant_id, project_user_memberships.stage_application AS project_key, 'user'::text AS member_type, project_user_memberships.username AS member, project_user_memberships.role, project_user_memberships.since FROM project_user_memberships WHERE (project_user_memberships.ended_at IS NULL);

function auth.jwt() returns jsonb [sql, stable]:
select coalesce(nullif(current_setting('request.jwt.claims', true), ''), '{}')::jsonb

function public.fn_anomalies_check_window(p_window_hours integer) returns void [plpgsql, immutable]:
begin
    if p_window_hours is null or p_window_hours < 1 then
        raise exception 'p_window_hours must be a positive number of hours, got %',
            coalesce(p_window_hours::text, 'null')
            using errcode = 'invalid_parameter_value';
    end if;
end

function public.fn_anomalies_for_operator(p_window_hours integer, p_tenant text, p_severity text[]) returns TABLE(id bigint, tenant_id text, batch_id uuid, staging_id uuid, row_index integer, project_key text, anomaly_type text, severity text, payload_excerpt text, correlation_id uuid, created_at timestamp with time zone, status text, acknowledged_at timestamp with time zone, acknowledged_by text, resolved_at timestamp with time zone) [sql, stable]:
select * from public.fn_anomalies_for_operator(p_window_hours, p_tenant, p_severity,
                                                       null::integer)

function public.fn_anomalies_for_operator(p_window_hours integer, p_tenant text, p_severity text[], p_limit integer) returns TABLE(id bigint, tenant_id text, batch_id uuid, staging_id uuid, row_index integer, project_key text, anomaly_type text, severity text, payload_excerpt text, correlation_id uuid, created_at timestamp with time zone, status text, acknowledged_at timestamp with time zone, acknowledged_by text, resolved_at timestamp with time zone) [plpgsql, stable]:
#variable_conflict use_column
declare
    v_since timestamptz;
begin
    perform public.fn_require_operator();
    perform public.fn_anomalies_check_window(p_window_hours);
    if p_limit is not null and p_limit < 1 then
        raise exception 'p_limit must be at least 1 (or null for no limit), got %', p_limit
            using errcode = 'invalid_parameter_value';
    end if;
    v_since := now() - make_interval(hours => p_window_hours);

    if p_tenant is null then
        return query
            select a.id, a.tenant_id, a.batch_id, a.staging_id, a.row_index, a.project_key,
                   a.anomaly_type, a.severity, a.payload_excerpt, a.correlation_id,
                   a.created_at, a.status, a.acknowledged_at, a.acknowledged_by, a.resolved_at
              from public.import_anomalies a
             where a.created_at >= v_since
               and (p_severity is null or a.severity = any (p_severity))
             order by a.created_at desc, a.id desc
             limit p_limit;
    else
        return query
            select a.id, a.tenant_id, a.batch_id, a.staging_id, a.row_index, a.project_key,
                   a.anomaly_type, a.severity, a.payload_excerpt, a.correlation_id,
                   a.created_at, a.status, a.acknowledged_at, a.acknowledged_by, a.resolved_at
              from public.import_anomalies a
             where a.tenant_id = p_tenant
               and a.created_at >= v_since
               and (p_severity is null or a.severity = any (p_severity))
             order by a.created_at desc, a.id desc
             limit p_limit;
    end if;
end

function public.fn_anomalies_stats(p_window_hours integer) returns TABLE(tenant_id text, anomaly_type text, severity text, count bigint, unresolved bigint, last_seen_at timestamp with time zone) [plpgsql, stable]:
#variable_conflict use_column
begin
    perform public.fn_require_operator();
    perform public.fn_anomalies_check_window(p_window_hours);
    return query
        select a.tenant_id, a.anomaly_type, a.severity,
               count(*)::bigint,
               (count(*) filter (where a.status <> 'resolved'))::bigint,
               max(a.created_at)
          from public.import_anomalies a
         where a.created_at >= now() - make_interval(hours => p_window_hours)
         group by a.tenant_id, a.anomaly_type, a.severity
         order by a.tenant_id, a.anomaly_type, a.severity;
end

function public.fn_anomaly_set_status(p_id bigint, p_status text) returns TABLE(id bigint, tenant_id text, status text, acknowledged_at timestamp with time zone, acknowledged_by text, resolved_at timestamp with time zone) [plpgsql, volatile]:
#variable_conflict use_column
declare
    v_current text;
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

    return query
        update public.import_anomalies a
           set status = p_status,
               acknowledged_at = case when p_status = 'acknowledged'
                                      then coalesce(a.acknowledged_at, now())
                                      else a.acknowledged_at end,
               acknowledged_by = case when p_status = 'acknowledged'
                                      then coalesce(a.acknowledged_by, auth.jwt() ->> 'sub')
                                      else a.acknowledged_by end,
               resolved_at = case when p_status = 'resolved'
                                  then coalesce(a.resolved_at, now())
                                  else a.resolved_at end
         where a.id = p_id
        returning a.id, a.tenant_id, a.status, a.acknowledged_at, a.acknowledged_by,
                  a.resolved_at;
end

function public.fn_cleanup_import_data(p_imports_days integer, p_anomalies_days integer, p_chunk_size integer, p_max_chunks integer) returns jsonb [plpgsql, volatile, set search_path=public, pg_temp]:
declare
    v_imports_cutoff    timestamptz;
    v_anomalies_cutoff  timestamptz;
    v_imports           bigint := 0;
    v_anomalies         bigint := 0;
    v_chunk_imports     integer;
    v_chunk_anomalies   integer;
    v_chunks            integer := 0;
    v_more              boolean := true;
begin
    if p_imports_days is null or p_imports_days < 0
       or p_anomalies_days is null or p_anomalies_days < 0 then
        raise exception 'fn_cleanup_import_data: retention days must be 0 or more'
            using errcode = '22023';
    end if;
    if p_chunk_size is null or p_chunk_size < 1 or p_max_chunks < 1 then
        raise exception 'fn_cleanup_import_data: chunk size and max chunks must be 1 or more'
            using errcode = '22023';
    end if;

    v_imports_cutoff := case when p_imports_days = 0 then 'infinity'::timestamptz
                             else now() - make_interval(days => p_imports_days) end;
    v_anomalies_cutoff := case when p_anomalies_days = 0 then 'infinity'::timestamptz
                               else now() - make_interval(days => p_anomalies_days) end;

    while v_more and (p_max_chunks is null or v_chunks < p_max_chunks) loop
        with doomed as (
            select tenant_id, id
              from import_anomalies
             where created_at < v_anomalies_cutoff
             order by created_at
             limit p_chunk_size
               for update skip locked
        ), deleted as (
            delete from import_anomalies a
             using doomed d
             where a.tenant_id = d.tenant_id and a.id = d.id
            returning a.tenant_id, a.created_at
        ), counted as (
            insert into import_retention_stats as s (tenant_id, stat_date, import_anomalies_count)
            select tenant_id, (created_at at time zone 'UTC')::date, count(*)
              from deleted
             group by 1, 2
            on conflict (tenant_id, stat_date) do update
               set import_anomalies_count = s.import_anomalies_count
                                            + excluded.import_anomalies_count,
                   last_updated_at = now()
            returning 1
        )
        select count(*) into v_chunk_anomalies from deleted;

        with doomed as (
            select tenant_id, id
              from staging_imports
             where created_at < v_imports_cutoff
             order by created_at
             limit p_chunk_size
               for update skip locked
        ), deleted as (
            delete from staging_imports i
             using doomed d
             where i.tenant_id = d.tenant_id and i.id = d.id
            returning i.tenant_id, i.created_at
        ), counted as (
            insert into import_retention_stats as s (tenant_id, stat_date, staging_imports_count)
            select tenant_id, (created_at at time zone 'UTC')::date, count(*)
              from deleted
             group by 1, 2
            on conflict (tenant_id, stat_date) do update
               set staging_imports_count = s.staging_imports_count
                                           + excluded.staging_imports_count,
                   last_updated_at = now()
            returning 1
        )
        select count(*) into v_chunk_imports from deleted;

        v_chunks := v_chunks + 1;
        v_anomalies := v_anomalies + v_chunk_anomalies;
        v_imports := v_imports + v_chunk_imports;
        v_more := v_chunk_anomalies = p_chunk_size or v_chunk_imports = p_chunk_size;
    end loop;

    return jsonb_build_object(
        'staging_imports_deleted', v_imports,
        'import_anomalies_deleted', v_anomalies,
        'imports_days', p_imports_days,
        'anomalies_days', p_anomalies_days,
        'chunks', v_chunks,
        'complete', not v_more);
end

function public.fn_dashboard_membership_changes(p_window_hours integer, p_limit integer) returns TABLE(tenant_id text, batch_id uuid, staged_at timestamp with time zone, row_count integer, org_memberships_upserted integer, user_memberships_upserted integer, memberships_ended integer) [plpgsql, stable, security definer, set search_path=public, pg_temp]:
begin
    if not fn_is_operator() then
        raise exception 'fn_dashboard_membership_changes: the operator or admin role is required'
            using errcode = '42501';
    end if;
    return query
    select s.tenant_id, s.batch_id, s.created_at, s.row_count,
           coalesce((s.validation #>> '{metrics,org_memberships_upserted}')::integer, 0),
           coalesce((s.validation #>> '{metrics,user_memberships_upserted}')::integer, 0),
           coalesce((s.validation #>> '{metrics,memberships_ended}')::integer, 0)
      from staging_imports s
     where s.created_at >= now() - make_interval(hours => greatest(p_window_hours, 1))
       and s.validation ? 'metrics'
     order by s.created_at desc, s.id desc
     limit least(greatest(p_limit, 1), 500);
end

function public.fn_directory_key(p_value text) returns text [sql, immutable]:
select nullif(btrim(lower(regexp_replace(p_value, '\s+', ' ', 'g'))), '')

function public.fn_import_anomaly_applies(p_anomaly_type text, p_project projects) returns boolean [sql, immutable]:
select case p_anomaly_type
               when 'UNKNOWN_DELIVERY_PARTNER' then
                   p_project.delivery_partner is not null and p_project.partner_org is null
               when 'UNKNOWN_DS' then
                   p_project.deployment_specialist is not null and p_project.ds_username is null
               when 'UNKNOWN_RM' then
                   (p_project.relationship_manager is not null
                    or p_project.rm_preferred_username is not null)
                   and p_project.rm_username is null
               else true
           end

function public.fn_import_retention_cron_job() returns jsonb [plpgsql, stable, set search_path=public, pg_temp]:
declare
    v_job jsonb;
begin
    if to_regclass('cron.job') is null then
        return null;
    end if;
    execute $q$
        select jsonb_build_object('jobid', jobid, 'schedule', schedule,
                                  'command', command, 'active', active)
          from cron.job
         where jobname = $1 and database = current_database()
         order by jobid desc
         limit 1
    $q$ into v_job using 'imports-anomalies-retention';
    return v_job;
exception
    when insufficient_privilege or undefined_column then
        return null;
end

function public.fn_is_operator() returns boolean [sql, stable]:
select public.fn_jwt_app_role() in ('operator', 'admin')

function public.fn_jwt_app_role() returns text [sql, stable]:
select coalesce(auth.jwt() -> 'app_metadata' ->> 'role', '')

function public.fn_projects_import_lock(p_tenant_id text) returns void [sql, volatile]:
select pg_advisory_xact_lock(public.fn_projects_import_lock_key(p_tenant_id))

function public.fn_projects_import_lock_key(p_tenant_id text) returns bigint [sql, immutable]:
select hashtextextended('projects-import:' || p_tenant_id, 7301)

function public.fn_projects_import_merge(tenant_id text, source text, batch_id uuid, rows jsonb, correlation_id uuid) returns jsonb [plpgsql, volatile, set search_path=public, pg_temp]:
#variable_conflict use_column
declare
    p_tenant_id       text := fn_projects_import_merge.tenant_id;
    p_source          text := fn_projects_import_merge.source;
    p_batch_id        uuid := fn_projects_import_merge.batch_id;
    p_rows            jsonb := fn_projects_import_merge.rows;
    p_correlation_id  uuid := fn_projects_import_merge.correlation_id;
    v_staging_id      uuid;
    v_rows            integer;
    v_inserted        integer := 0;
    v_updated         integer := 0;
    v_org_added       integer := 0;
    v_user_added      integer := 0;
    v_org_ended       integer := 0;
    v_user_ended      integer := 0;
    v_anomalies       integer := 0;
    v_resolved        integer := 0;
    v_metrics         jsonb;
begin
    if p_rows is null or jsonb_typeof(p_rows) <> 'array' then
        raise exception 'fn_projects_import_merge: rows must be a JSON array'
            using errcode = '22023';
    end if;

    perform public.fn_projects_import_lock(p_tenant_id);

    select id into v_staging_id
      from staging_imports
     where tenant_id = p_tenant_id and batch_id = p_batch_id;

    create temp table if not exists pg_temp.import_batch (
        row_index                  integer,
        stage_application          text,
        delivery_partner           text,
        developer_class            text,
        relationship_manager       text,
        deployment_specialist      text,
        rm_preferred_username      text,
        residential                integer,
        commercial                 integer,
        essential                  integer,
        premises_count             integer,
        stage_application_created  date,
        excerpt                    text,
        partner_org                text,
        ds_username                text,
        rm_username                text
    ) on commit drop;
    truncate pg_temp.import_batch;

    insert into pg_temp.import_batch
    select e.ord - 1,
           nullif(btrim(e.r ->> 'stage_application'), ''),
           nullif(btrim(e.r ->> 'delivery_partner'), ''),
           nullif(btrim(e.r ->> 'developer_class'), ''),
           nullif(btrim(e.r ->> 'relationship_manager'), ''),
           nullif(btrim(e.r ->> 'deployment_specialist'), ''),
           nullif(btrim(e.r ->> 'rm_preferred_username'), ''),
           coalesce(nullif(btrim(e.r ->> 'residential'), '')::integer, 0),
           coalesce(nullif(btrim(e.r ->> 'commercial'), '')::integer, 0),
           coalesce(nullif(btrim(e.r ->> 'essential'), '')::integer, 0),
           coalesce(nullif(btrim(e.r ->> 'premises_count'), '')::integer, 0),
           nullif(btrim(e.r ->> 'stage_application_created'), '')::date,
           left(e.r::text, 500),
           null, null, null
      from jsonb_array_elements(p_rows) with ordinality as e(r, ord);

    if exists (select 1 from pg_temp.import_batch where stage_application is null) then
        raise exception 'fn_projects_import_merge: every row needs a stage_application'
            using errcode = '22023';
    end if;

    select count(*) into v_rows from pg_temp.import_batch;

    -- Canonical values from today's directories (fn_projects_resolve_canonical).
    update pg_temp.import_batch b
       set (partner_org, ds_username, rm_username) =
           (select c.partner_org, c.ds_username, c.rm_username
              from fn_projects_resolve_canonical(p_tenant_id, b.delivery_partner,
                                                 b.deployment_specialist,
                                                 b.relationship_manager,
                                                 b.rm_preferred_username) c);

    insert into organizations (tenant_id, name)
    select distinct p_tenant_id, b.partner_org
      from pg_temp.import_batch b
     where b.partner_org is not null
    on conflict do nothing;

    with upserted as (
        insert into projects as p (
            tenant_id, stage_application, delivery_partner, developer_class,
            relationship_manager, deployment_specialist, rm_preferred_username,
            residential, commercial, essential, premises_count, stage_application_created,
            partner_org, ds_username, rm_username, source, last_batch_id, last_correlation_id)
        select p_tenant_id, b.stage_application, b.delivery_partner, b.developer_class,
               b.relationship_manager, b.deployment_specialist, b.rm_preferred_username,
               b.residential, b.commercial, b.essential, b.premises_count,
               b.stage_application_created, b.partner_org, b.ds_username, b.rm_username,
               p_source, p_batch_id, p_correlation_id
          from pg_temp.import_batch b
        on conflict (tenant_id, stage_application) do update
           set delivery_partner = excluded.delivery_partner,
               developer_class = excluded.developer_class,
               relationship_manager = excluded.relationship_manager,
               deployment_specialist = excluded.deployment_specialist,
               rm_preferred_username = excluded.rm_preferred_username,
               residential = excluded.residential,
               commercial = excluded.commercial,
               essential = excluded.essential,
               premises_count = excluded.premises_count,
               stage_application_created = excluded.stage_application_created,
               partner_org = excluded.partner_org,
               ds_username = excluded.ds_username,
               rm_username = excluded.rm_username,
               source = excluded.source,
               last_batch_id = excluded.last_batch_id,
               last_correlation_id = excluded.last_correlation_id,
               updated_at = now()
         where (p.delivery_partner, p.developer_class, p.relationship_manager,
                p.deployment_specialist, p.rm_preferred_username, p.residential, p.commercial,
                p.essential, p.premises_count, p.stage_application_created,
                p.partner_org, p.ds_username, p.rm_username)
               is distinct from
               (excluded.delivery_partner, excluded.developer_class,
                excluded.relationship_manager, excluded.deployment_specialist,
                excluded.rm_preferred_username, excluded.residential, excluded.commercial,
                excluded.essential, excluded.premises_count,
                excluded.stage_application_created, excluded.partner_org,
                excluded.ds_username, excluded.rm_username)
        returning (xmax = 0) as inserted
    )
    select count(*) filter (where inserted), count(*) filter (where not inserted)
      into v_inserted, v_updated
      from upserted;

    -- Memberships: end what no longer applies (a reassigned person loses access) ...
    with ended as (
        update project_org_memberships m
           set ended_at = now(), ended_batch_id = p_batch_id
          from pg_temp.import_batch b
         where m.tenant_id = p_tenant_id
           and m.stage_application = b.stage_application
           and m.ended_at is null
           and m.org_name is distinct from b.partner_org
        returning 1
    )
    select count(*) into v_org_ended from ended;

    with ended as (
        update project_user_memberships m
           set ended_at = now(), ended_batch_id = p_batch_id
          from pg_temp.import_batch b
         where m.tenant_id = p_tenant_id
           and m.stage_application = b.stage_application
           and m.ended_at is null
           and m.username is distinct from
               case m.role when 'deployment_specialist' then b.ds_username
                           else b.rm_username end
        returning 1
    )
    select count(*) into v_user_ended from ended;

    -- ... then add the ones that are missing.
    with added as (
        insert into project_org_memberships (tenant_id, stage_application, org_name, role, batch_id)
        select p_tenant_id, b.stage_application, b.partner_org, 'delivery_partner', p_batch_id
          from pg_temp.import_batch b
         where b.partner_org is not null
        on conflict (tenant_id, stage_application, role, org_name) where ended_at is null
        do nothing
        returning 1
    )
    select count(*) into v_org_added from added;

    with added as (
        insert into project_user_memberships (tenant_id, stage_application, username, role, batch_id)
        select p_tenant_id, b.stage_application, u.username, u.role, p_batch_id
          from pg_temp.import_batch b
          cross join lateral (values ('deployment_specialist', b.ds_username),
                                     ('relationship_manager', b.rm_username)) as u(role, username)
         where u.username is not null
        on conflict (tenant_id, stage_application, role, username) where ended_at is null
        do nothing
        returning 1
    )
    select count(*) into v_user_added from added;

    -- Anomalies: the misses of this batch ...
    create temp table if not exists pg_temp.import_batch_anomalies (
        row_index integer, project_key text, anomaly_type text, severity text, excerpt text
    ) on commit drop;
    truncate pg_temp.import_batch_anomalies;

    insert into pg_temp.import_batch_anomalies
    select b.row_index, b.stage_application, a.anomaly_type, a.severity, b.excerpt
      from pg_temp.import_batch b
      cross join lateral (values
            ('UNKNOWN_DELIVERY_PARTNER', 'warning',
             b.delivery_partner is not null and b.partner_org is null),
            ('UNKNOWN_DS', 'error',
             b.deployment_specialist is not null and b.ds_username is null),
            ('UNKNOWN_RM', 'error',
             (b.relationship_manager is not null or b.rm_preferred_username is not null)
             and b.rm_username is null)
      ) as a(anomaly_type, severity, missed)
     where a.missed;

    select count(*) into v_anomalies from pg_temp.import_batch_anomalies;

    insert into import_anomalies (tenant_id, batch_id, staging_id, row_index, project_key,
                                  anomaly_type, severity, payload_excerpt, correlation_id)
    select p_tenant_id, p_batch_id, v_staging_id, a.row_index, a.project_key,
           a.anomaly_type, a.severity, a.excerpt, p_correlation_id
      from pg_temp.import_batch_anomalies a
    on conflict (tenant_id, batch_id, row_index, anomaly_type) do nothing;

    -- ... and earlier anomalies of these projects that this batch shows are fixed.
    with resolved as (
        update import_anomalies ia
           set status = 'resolved', resolved_at = now()
          from pg_temp.import_batch b
         where ia.tenant_id = p_tenant_id
           and ia.project_key = b.stage_application
           and ia.status <> 'resolved'
           and not exists (select 1 from pg_temp.import_batch_anomalies a
                            where a.project_key = ia.project_key
                              and a.anomaly_type = ia.anomaly_type)
        returning 1
    )
    select count(*) into v_resolved from resolved;

    v_metrics := jsonb_build_object(
        'rows', v_rows,
        'inserted_projects', v_inserted,
        'updated_projects', v_updated,
        'unchanged_projects', v_rows - v_inserted - v_updated,
        'org_memberships_upserted', v_org_added,
        'user_memberships_upserted', v_user_added,
        'memberships_ended', v_org_ended + v_user_ended,
        'anomalies_count', v_anomalies,
        'anomalies_resolved', v_resolved,
        'staging_id', v_staging_id);

    if v_staging_id is not null then
        update staging_imports
           set validation = case
                   when validation ? 'metrics' then
                       jsonb_set(validation, '{reruns}',
                                 coalesce(validation -> 'reruns', '[]'::jsonb)
                                 || jsonb_build_array(v_metrics
                                        || jsonb_build_object('at', now(),
                                                              'correlation_id', p_correlation_id)))
                   else validation || jsonb_build_object('metrics', v_metrics)
               end
         where tenant_id = p_tenant_id and id = v_staging_id;
    end if;

    return v_metrics;
end

function public.fn_projects_import_submit(p_tenant_id text, p_source text, p_batch_id uuid, p_batch_checksum text, p_checksum_version smallint, p_raw jsonb, p_rows jsonb, p_correlation_id uuid, p_validation jsonb) returns jsonb [plpgsql, volatile, set search_path=public, pg_temp]:
declare
    v_staged   staging_imports%rowtype;
    v_metrics  jsonb;
begin
    if not fn_projects_import_try_lock(p_tenant_id) then
        return jsonb_build_object('outcome', 'busy');
    end if;

    select * into v_staged
      from staging_imports
     where tenant_id = p_tenant_id and batch_checksum = p_batch_checksum;
    if found then
        return jsonb_build_object(
            'outcome', 'replayed',
            'batch_id', v_staged.batch_id,
            'staging_id', v_staged.id,
            'original_correlation_id', v_staged.correlation_id,
            'metrics', coalesce(v_staged.validation -> 'metrics', '{}'::jsonb)
                       || jsonb_build_object('staging_id', v_staged.id));
    end if;

    select * into v_staged
      from staging_imports
     where tenant_id = p_tenant_id and batch_id = p_batch_id;
    if found then
        return jsonb_build_object(
            'outcome', 'batch_conflict',
            'batch_id', v_staged.batch_id,
            'staging_id', v_staged.id,
            'staged_at', v_staged.created_at);
    end if;

    insert into staging_imports (tenant_id, batch_id, source, raw, batch_checksum,
                                 checksum_version, row_count, correlation_id, validation)
    values (p_tenant_id, p_batch_id, p_source, p_raw, p_batch_checksum, p_checksum_version,
            jsonb_array_length(p_rows), p_correlation_id, coalesce(p_validation, '{}'::jsonb));

    v_metrics := fn_projects_import_merge(p_tenant_id, p_source, p_batch_id, p_rows,
                                          p_correlation_id);
    return jsonb_build_object('outcome', 'merged', 'batch_id', p_batch_id,
                              'staging_id', v_metrics -> 'staging_id', 'metrics', v_metrics);
end

function public.fn_projects_import_try_lock(p_tenant_id text) returns boolean [sql, volatile]:
select pg_try_advisory_xact_lock(public.fn_projects_import_lock_key(p_tenant_id))

function public.fn_projects_membership_backfill(p_tenant_id text) returns jsonb [plpgsql, volatile, set search_path=public, pg_temp]:
declare
    v_tenant      text;
    v_projects    integer;
    v_org_added   integer;
    v_user_added  integer;
    v_org_ended   integer;
    v_user_ended  integer;
    v_resolved    integer;
begin
    if p_tenant_id is not null
       and not exists (select 1 from tenants where tenant_id = p_tenant_id) then
        raise exception 'fn_projects_membership_backfill: unknown tenant %', p_tenant_id
            using errcode = '22023';
    end if;

    for v_tenant in
        select tenant_id from tenants
         where p_tenant_id is null or tenant_id = p_tenant_id
         order by tenant_id
    loop
        perform fn_projects_import_lock(v_tenant);
    end loop;

    with resolved as (
        select p.tenant_id, p.stage_application, c.partner_org, c.ds_username, c.rm_username
          from projects p
          cross join lateral fn_projects_resolve_canonical(
                p.tenant_id, p.delivery_partner, p.deployment_specialist,
                p.relationship_manager, p.rm_preferred_username) c
         where p_tenant_id is null or p.tenant_id = p_tenant_id
    ), changed as (
        update projects p
           set partner_org = r.partner_org,
               ds_username = r.ds_username,
               rm_username = r.rm_username,
               updated_at = now()
          from resolved r
         where p.tenant_id = r.tenant_id
           and p.stage_application = r.stage_application
           and (p.partner_org, p.ds_username, p.rm_username)
               is distinct from (r.partner_org, r.ds_username, r.rm_username)
        returning 1
    )
    select count(*) into v_projects from changed;

    insert into organizations (tenant_id, name)
    select distinct p.tenant_id, p.partner_org
      from projects p
     where p.partner_org is not null
       and (p_tenant_id is null or p.tenant_id = p_tenant_id)
    on conflict do nothing;

    with ended as (
        update project_org_memberships m
           set ended_at = now()
          from projects p
         where m.tenant_id = p.tenant_id
           and m.stage_application = p.stage_application
           and m.ended_at is null
           and m.org_name is distinct from p.partner_org
           and (p_tenant_id is null or p.tenant_id = p_tenant_id)
        returning 1
    )
    select count(*) into v_org_ended from ended;

    with ended as (
        update project_user_memberships m
           set ended_at = now()
          from projects p
         where m.tenant_id = p.tenant_id
           and m.stage_application = p.stage_application
           and m.ended_at is null
           and m.username is distinct from
               case m.role when 'deployment_specialist' then p.ds_username
                           else p.rm_username end
           and (p_tenant_id is null or p.tenant_id = p_tenant_id)
        returning 1
    )
    select count(*) into v_user_ended from ended;

    with added as (
        insert into project_org_memberships (tenant_id, stage_application, org_name, role)
        select p.tenant_id, p.stage_application, p.partner_org, 'delivery_partner'
          from projects p
         where p.partner_org is not null
           and (p_tenant_id is null or p.tenant_id = p_tenant_id)
           and not exists (select 1 from project_org_memberships m
                            where m.tenant_id = p.tenant_id
                              and m.stage_application = p.stage_application
                              and m.role = 'delivery_partner'
                              and m.org_name = p.partner_org
                              and m.ended_at is null)
        on conflict (tenant_id, stage_application, role, org_name) where ended_at is null
        do nothing
        returning 1
    )
    select count(*) into v_org_added from added;

    with added as (
        insert into project_user_memberships (tenant_id, stage_application, username, role)
        select p.tenant_id, p.stage_application, u.username, u.role
          from projects p
          cross join lateral (values ('deployment_specialist', p.ds_username),
                                     ('relationship_manager', p.rm_username)) as u(role, username)
         where u.username is not null
           and (p_tenant_id is null or p.tenant_id = p_tenant_id)
           and not exists (select 1 from project_user_memberships m
                            where m.tenant_id = p.tenant_id
                              and m.stage_application = p.stage_application
                              and m.role = u.role
                              and m.username = u.username
                              and m.ended_at is null)
        on conflict (tenant_id, stage_application, role, username) where ended_at is null
        do nothing
        returning 1
    )
    select count(*) into v_user_added from added;

    with fixed as (
        update import_anomalies ia
           set status = 'resolved', resolved_at = now()
          from projects p
         where ia.tenant_id = p.tenant_id
           and ia.project_key = p.stage_application
           and ia.status <> 'resolved'
           and (p_tenant_id is null or p.tenant_id = p_tenant_id)
           and not fn_import_anomaly_applies(ia.anomaly_type, p)
        returning 1
    )
    select count(*) into v_resolved from fixed;

    return jsonb_build_object(
        'projects_updated', v_projects,
        'org_memberships_added', v_org_added,
        'user_memberships_added', v_user_added,
        'org_memberships_ended', v_org_ended,
        'user_memberships_ended', v_user_ended,
        'memberships_ended', v_org_ended + v_user_ended,
        'anomalies_resolved', v_resolved);
end

function public.fn_projects_resolve_canonical(p_tenant_id text, p_delivery_partner text, p_deployment_specialist text, p_relationship_manager text, p_rm_preferred_username text) returns TABLE(partner_org text, ds_username text, rm_username text) [sql, stable]:
select coalesce(
               (select pn.canonical from public.partner_normalization pn
                 where pn.tenant_id = p_tenant_id
                   and pn.alias_key = public.fn_directory_key(p_delivery_partner)),
               (select min(pn.canonical) from public.partner_normalization pn
                 where pn.tenant_id = p_tenant_id
                   and public.fn_directory_key(pn.canonical)
                       = public.fn_directory_key(p_delivery_partner))),
           (select d.preferred_username from public.ds_directory d
             where d.tenant_id = p_tenant_id and d.active
               and d.username_key = public.fn_directory_key(p_deployment_specialist)),
           case when public.fn_directory_key(p_rm_preferred_username) is not null then
               (select r.preferred_username from public.rm_directory r
                 where r.tenant_id = p_tenant_id and r.active
                   and r.username_key = public.fn_directory_key(p_rm_preferred_username))
           else
               (select min(r.preferred_username) from public.rm_directory r
                 where r.tenant_id = p_tenant_id and r.active
                   and r.display_key = public.fn_directory_key(p_relationship_manager)
                having count(*) = 1)
           end

function public.fn_require_operator() returns void [plpgsql, stable]:
begin
    if not public.fn_is_operator() then
        raise exception 'insufficient_privilege: operator or admin role required'
            using errcode = 'insufficient_privilege',
                  hint = 'send a user JWT whose app_metadata.role is operator or admin';
    end if;
end

function public.fn_schedule_import_retention(p_schedule text, p_command text) returns bigint [plpgsql, volatile, set search_path=public, pg_temp]:
declare
    v_jobid bigint;
begin
    if not exists (select 1 from pg_extension where extname = 'pg_cron') then
        return null;
    end if;
    execute 'select cron.unschedule(jobid) from cron.job where jobname = $1'
        using 'imports-anomalies-retention';
    execute 'select cron.schedule($1, $2, $3)'
        into v_jobid
        using 'imports-anomalies-retention', p_schedule, p_command;
    return v_jobid;
end

policy public.ds_directory.operators_read: permissive for select to authenticated using (SELECT fn_is_operator() AS fn_is_operator)
policy public.import_anomalies.operators_read: permissive for select to authenticated using (SELECT fn_is_operator() AS fn_is_operator)
policy public.import_anomalies.operators_update: permissive for update to authenticated using (SELECT fn_is_operator() AS fn_is_operator) with check (SELECT fn_is_operator() AS fn_is_operator)
policy public.import_requests.operators_read: permissive for select to authenticated using (SELECT fn_is_operator() AS fn_is_operator)
policy public.import_retention_stats.operators_read: permissive for select to authenticated using fn_is_operator()
policy public.organizations.operators_read: permissive for select to authenticated using (SELECT fn_is_operator() AS fn_is_operator)
policy public.partner_normalization.operators_read: permissive for select to authenticated using (SELECT fn_is_operator() AS fn_is_operator)
policy public.project_org_memberships.operators_read: permissive for select to authenticated using (SELECT fn_is_operator() AS fn_is_operator)
policy public.project_user_memberships.operators_read: permissive for select to authenticated using (SELECT fn_is_operator() AS fn_is_operator)
policy public.projects.operators_read: permissive for select to authenticated using (SELECT fn_is_operator() AS fn_is_operator)
policy public.rm_directory.operators_read: permissive for select to authenticated using (SELECT fn_is_operator() AS fn_is_operator)
policy public.tenants.operators_read: permissive for select to authenticated using (SELECT fn_is_operator() AS fn_is_operator)
