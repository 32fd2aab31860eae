-- Generated from the catalog of a freshly migrated database; do not edit.
-- Regenerate: .venv/bin/python -m projects_import.db.snapshot --write


table public.alert_deliveries (rls)
    tenant_id text not null
    id bigint not null generated identity
    kind text not null
    fingerprint text not null
    problem_ids bigint[] not null
    batch_ids uuid[] not null default '{}'::uuid[]
    reasons text[] not null
    window_start timestamp with time zone not null
    window_end timestamp with time zone not null
    body jsonb not null
    status text not null default 'pending'::text
    attempts integer not null default 0
    response_code integer
    last_error text
    next_retry_at timestamp with time zone
    delivered_at timestamp with time zone
    created_at timestamp with time zone not null default now()
    updated_at timestamp with time zone not null default now()
    constraint alert_deliveries_attempts_check CHECK ((attempts >= 0))
    constraint alert_deliveries_check CHECK (((status = ANY (ARRAY['pending'::text, 'retrying'::text])) = (next_retry_at IS NOT NULL)))
    constraint alert_deliveries_kind_check CHECK ((kind = ANY (ARRAY['alert'::text, 'escalation'::text, 'held'::text])))
    constraint alert_deliveries_last_error_check CHECK ((char_length(last_error) <= 500))
    constraint alert_deliveries_pkey PRIMARY KEY (tenant_id, id)
    constraint alert_deliveries_status_check CHECK ((status = ANY (ARRAY['pending'::text, 'retrying'::text, 'delivered'::text, 'failed'::text])))
    constraint alert_deliveries_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES tenants(tenant_id) ON DELETE CASCADE

table public.alert_windows (rls)
    tenant_id text not null
    window_slot timestamp with time zone not null
    window_hours integer not null
    occurrences integer not null
    errors integer not null
    overdue integer not null
    evaluated_at timestamp with time zone not null default now()
    constraint alert_windows_pkey PRIMARY KEY (tenant_id, window_slot)
    constraint alert_windows_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES tenants(tenant_id) ON DELETE CASCADE
    constraint alert_windows_window_hours_check CHECK ((window_hours >= 1))

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

table public.directory_changes (rls)
    tenant_id text not null
    id bigint not null generated identity
    at timestamp with time zone not null default now()
    actor text not null
    action text not null
    directory text not null
    before jsonb
    after jsonb
    problem_id bigint
    effect jsonb not null default '{}'::jsonb
    undo_of bigint
    constraint directory_changes_action_check CHECK ((action = ANY (ARRAY['add'::text, 'update'::text, 'deactivate'::text, 'reactivate'::text, 'remove'::text])))
    constraint directory_changes_directory_check CHECK ((directory = ANY (ARRAY['partners'::text, 'ds'::text, 'rm'::text])))
    constraint directory_changes_pkey PRIMARY KEY (tenant_id, id)
    constraint directory_changes_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES tenants(tenant_id) ON DELETE CASCADE

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
    problem_id bigint
    constraint import_anomalies_anomaly_type_check CHECK ((anomaly_type = ANY (ARRAY['UNKNOWN_DELIVERY_PARTNER'::text, 'UNKNOWN_DS'::text, 'UNKNOWN_RM'::text])))
    constraint import_anomalies_payload_excerpt_check CHECK ((char_length(payload_excerpt) <= 500))
    constraint import_anomalies_pkey PRIMARY KEY (tenant_id, id)
    constraint import_anomalies_severity_check CHECK ((severity = ANY (ARRAY['error'::text, 'warning'::text, 'info'::text])))
    constraint import_anomalies_status_check CHECK ((status = ANY (ARRAY['open'::text, 'acknowledged'::text, 'resolved'::text])))
    constraint import_anomalies_tenant_id_batch_id_row_index_anomaly_type_key UNIQUE (tenant_id, batch_id, row_index, anomaly_type)

table public.import_anomaly_rollups (rls)
    tenant_id text not null
    anomaly_type text not null
    severity text not null
    created_at timestamp with time zone not null
    occurrences bigint not null
    unresolved bigint not null
    constraint import_anomaly_rollups_pkey PRIMARY KEY (tenant_id, anomaly_type, severity, created_at)

table public.import_batch_decisions (rls)
    tenant_id text not null
    id bigint not null generated identity
    staging_id uuid not null
    batch_id uuid not null
    decision text not null
    actor text not null
    reason text
    details jsonb not null default '{}'::jsonb
    decided_at timestamp with time zone not null default now()
    constraint import_batch_decisions_actor_check CHECK ((char_length(actor) <= 256))
    constraint import_batch_decisions_decision_check CHECK ((decision = ANY (ARRAY['held'::text, 'published'::text, 'rejected'::text, 'superseded'::text])))
    constraint import_batch_decisions_pkey PRIMARY KEY (tenant_id, id)
    constraint import_batch_decisions_reason_check CHECK ((char_length(reason) <= 500))
    constraint import_batch_decisions_tenant_id_staging_id_fkey FOREIGN KEY (tenant_id, staging_id) REFERENCES staging_imports(tenant_id, id) ON DELETE CASCADE

table public.import_problem_events (rls)
    tenant_id text not null
    id bigint not null generated identity
    problem_id bigint not null
    at timestamp with time zone not null default now()
    actor text not null
    action text not null
    resolution text
    note text
    constraint import_problem_events_action_check CHECK ((action = ANY (ARRAY['opened'::text, 'acknowledged'::text, 'resolved'::text, 'reopened'::text])))
    constraint import_problem_events_note_check CHECK ((char_length(note) <= 2000))
    constraint import_problem_events_pkey PRIMARY KEY (tenant_id, id)
    constraint import_problem_events_resolution_check CHECK ((resolution = ANY (ARRAY['directory_fix'::text, 'data_fix'::text, 'manual'::text])))
    constraint import_problem_events_tenant_id_problem_id_fkey FOREIGN KEY (tenant_id, problem_id) REFERENCES import_problems(tenant_id, id) ON DELETE CASCADE

table public.import_problem_rollups (rls)
    tenant_id text not null
    anomaly_type text not null
    severity text not null
    status text not null
    clock text not null
    hour timestamp with time zone not null
    problems bigint not null
    constraint import_problem_rollups_clock_check CHECK ((clock = ANY (ARRAY['first_seen'::text, 'ack_due'::text, 'resolve_due'::text, 'overdue'::text])))
    constraint import_problem_rollups_pkey PRIMARY KEY (tenant_id, anomaly_type, severity, status, clock, hour)
    constraint import_problem_rollups_status_check CHECK ((status = ANY (ARRAY['open'::text, 'acknowledged'::text])))

table public.import_problems (rls)
    tenant_id text not null
    id bigint not null generated identity
    project_key text not null
    anomaly_type text not null
    severity text not null
    unknown_value text not null
    unknown_key text not null
    status text not null default 'open'::text
    first_seen_at timestamp with time zone not null default now()
    last_seen_at timestamp with time zone not null default now()
    occurrences integer not null default 1
    last_batch_id uuid
    last_anomaly_id bigint
    payload_excerpt text
    acknowledged_at timestamp with time zone
    acknowledged_by text
    resolved_at timestamp with time zone
    resolved_by text
    resolution text
    regressed boolean not null default false
    reopened_at timestamp with time zone
    ack_due_at timestamp with time zone
    resolve_due_at timestamp with time zone
    note text
    constraint import_problems_anomaly_type_check CHECK ((anomaly_type = ANY (ARRAY['UNKNOWN_DELIVERY_PARTNER'::text, 'UNKNOWN_DS'::text, 'UNKNOWN_RM'::text])))
    constraint import_problems_check CHECK (((status = 'resolved'::text) = (resolution IS NOT NULL)))
    constraint import_problems_note_check CHECK ((char_length(note) <= 2000))
    constraint import_problems_occurrences_check CHECK ((occurrences >= 0))
    constraint import_problems_payload_excerpt_check CHECK ((char_length(payload_excerpt) <= 500))
    constraint import_problems_pkey PRIMARY KEY (tenant_id, id)
    constraint import_problems_resolution_check CHECK ((resolution = ANY (ARRAY['directory_fix'::text, 'data_fix'::text, 'manual'::text])))
    constraint import_problems_severity_check CHECK ((severity = ANY (ARRAY['error'::text, 'warning'::text, 'info'::text])))
    constraint import_problems_status_check CHECK ((status = ANY (ARRAY['open'::text, 'acknowledged'::text, 'resolved'::text])))
    constraint import_problems_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES tenants(tenant_id) ON DELETE CASCADE
    constraint import_problems_tenant_id_project_key_anomaly_type_unknown__key UNIQUE (tenant_id, project_key, anomaly_type, unknown_key)

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
    request_batch_id text
    source text
    staging_id uuid
    inserted_projects integer
    updated_projects integer
    unchanged_projects integer
    org_memberships_upserted integer
    user_memberships_upserted integer
    anomalies_count integer
    violations_total integer
    violations_summary jsonb
    constraint import_requests_pkey PRIMARY KEY (tenant_id, id)
    constraint import_requests_request_batch_id_check CHECK ((char_length(request_batch_id) <= 256))
    constraint import_requests_source_check CHECK ((char_length(source) <= 256))
    constraint import_requests_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES tenants(tenant_id) ON DELETE CASCADE
    constraint import_requests_violations_summary_check CHECK (((violations_summary IS NULL) OR (pg_column_size(violations_summary) <= 8192)))

table public.import_retention_stats (rls)
    tenant_id text not null
    stat_date date not null
    staging_imports_count bigint not null default 0
    import_anomalies_count bigint not null default 0
    last_updated_at timestamp with time zone not null default now()
    import_requests_count bigint not null default 0
    import_problems_count bigint not null default 0
    alert_deliveries_count bigint not null default 0
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
    request_digest bytea
    batch_state text not null default 'merged'::text
    constraint staging_imports_batch_state_check CHECK ((batch_state = ANY (ARRAY['merged'::text, 'held'::text, 'published'::text, 'rejected'::text, 'superseded'::text])))
    constraint staging_imports_pkey PRIMARY KEY (tenant_id, id)
    constraint staging_imports_request_digest_check CHECK (((request_digest IS NULL) OR (octet_length(request_digest) = 32)))
    constraint staging_imports_row_count_check CHECK ((row_count > 0))
    constraint staging_imports_tenant_id_batch_id_key UNIQUE (tenant_id, batch_id)
    constraint staging_imports_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES tenants(tenant_id) ON DELETE CASCADE

table public.tenant_events (rls)
    tenant_id text not null
    id bigint not null generated identity
    at timestamp with time zone not null default now()
    action text not null
    reason text
    actor text not null
    constraint tenant_events_action_check CHECK ((action = ANY (ARRAY['pause'::text, 'resume'::text])))
    constraint tenant_events_pkey PRIMARY KEY (tenant_id, id)
    constraint tenant_events_reason_check CHECK ((char_length(reason) <= 500))
    constraint tenant_events_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES tenants(tenant_id) ON DELETE CASCADE

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
    business_hours_start time without time zone not null default '09:00:00'::time without time zone
    business_hours_end time without time zone not null default '17:00:00'::time without time zone
    business_days integer[] not null default '{1,2,3,4,5}'::integer[]
    schedule_time time without time zone not null default '17:00:00'::time without time zone
    schedule_grace_minutes integer not null default 60
    alert_min_occurrences integer not null default 5
    alert_min_errors integer not null default 2
    paused_at timestamp with time zone
    paused_reason text
    paused_by text
    audit_enabled boolean not null default true
    audit_max_ended_share numeric not null default 0.2
    audit_max_anomaly_share numeric not null default 0.5
    audit_max_changed_share numeric not null default 0.5
    audit_min_rows integer not null default 100
    constraint tenants_alert_min_errors_check CHECK ((alert_min_errors >= 1))
    constraint tenants_alert_min_occurrences_check CHECK ((alert_min_occurrences >= 1))
    constraint tenants_audit_max_anomaly_share_check CHECK (((audit_max_anomaly_share >= (0)::numeric) AND (audit_max_anomaly_share <= (1)::numeric)))
    constraint tenants_audit_max_changed_share_check CHECK (((audit_max_changed_share >= (0)::numeric) AND (audit_max_changed_share <= (1)::numeric)))
    constraint tenants_audit_max_ended_share_check CHECK (((audit_max_ended_share >= (0)::numeric) AND (audit_max_ended_share <= (1)::numeric)))
    constraint tenants_audit_min_rows_check CHECK ((audit_min_rows >= 0))
    constraint tenants_business_days CHECK ((((cardinality(business_days) >= 1) AND (cardinality(business_days) <= 7)) AND (business_days <@ '{1,2,3,4,5,6,7}'::integer[])))
    constraint tenants_business_hours CHECK ((business_hours_start < business_hours_end))
    constraint tenants_paused CHECK (((paused_at IS NULL) = (paused_reason IS NULL)))
    constraint tenants_paused_reason_check CHECK ((char_length(paused_reason) <= 500))
    constraint tenants_pkey PRIMARY KEY (tenant_id)
    constraint tenants_schedule_grace_minutes_check CHECK ((schedule_grace_minutes >= 0))
    constraint tenants_tenant_id_check CHECK ((tenant_id ~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$'::text))

index alert_deliveries_created: CREATE INDEX alert_deliveries_created ON public.alert_deliveries USING btree (created_at)
index alert_deliveries_due: CREATE INDEX alert_deliveries_due ON public.alert_deliveries USING btree (next_retry_at) WHERE (status = ANY (ARRAY['pending'::text, 'retrying'::text]))
index alert_deliveries_fingerprint: CREATE INDEX alert_deliveries_fingerprint ON public.alert_deliveries USING btree (tenant_id, kind, fingerprint, created_at DESC)
index alert_deliveries_pkey: CREATE UNIQUE INDEX alert_deliveries_pkey ON public.alert_deliveries USING btree (tenant_id, id)
index alert_windows_pkey: CREATE UNIQUE INDEX alert_windows_pkey ON public.alert_windows USING btree (tenant_id, window_slot)
index dashboard_sessions_email: CREATE INDEX dashboard_sessions_email ON public.dashboard_sessions USING btree (email)
index dashboard_sessions_expires: CREATE INDEX dashboard_sessions_expires ON public.dashboard_sessions USING btree (expires_at)
index dashboard_sessions_pkey: CREATE UNIQUE INDEX dashboard_sessions_pkey ON public.dashboard_sessions USING btree (token_sha256)
index dashboard_users_pkey: CREATE UNIQUE INDEX dashboard_users_pkey ON public.dashboard_users USING btree (email)
index directory_changes_at: CREATE INDEX directory_changes_at ON public.directory_changes USING btree (at DESC, id DESC)
index directory_changes_pkey: CREATE UNIQUE INDEX directory_changes_pkey ON public.directory_changes USING btree (tenant_id, id)
index directory_changes_undo: CREATE UNIQUE INDEX directory_changes_undo ON public.directory_changes USING btree (tenant_id, undo_of) WHERE (undo_of IS NOT NULL)
index ds_directory_pkey: CREATE UNIQUE INDEX ds_directory_pkey ON public.ds_directory USING btree (tenant_id, username_key)
index import_anomalies_batch: CREATE INDEX import_anomalies_batch ON public.import_anomalies USING btree (batch_id)
index import_anomalies_created: CREATE INDEX import_anomalies_created ON public.import_anomalies USING btree (created_at DESC, id DESC)
index import_anomalies_id: CREATE INDEX import_anomalies_id ON public.import_anomalies USING btree (id)
index import_anomalies_pkey: CREATE UNIQUE INDEX import_anomalies_pkey ON public.import_anomalies USING btree (tenant_id, id)
index import_anomalies_problem: CREATE INDEX import_anomalies_problem ON public.import_anomalies USING btree (tenant_id, problem_id, created_at DESC, id DESC) WHERE (problem_id IS NOT NULL)
index import_anomalies_tenant_created: CREATE INDEX import_anomalies_tenant_created ON public.import_anomalies USING btree (tenant_id, created_at DESC, id DESC)
index import_anomalies_tenant_id_batch_id_row_index_anomaly_type_key: CREATE UNIQUE INDEX import_anomalies_tenant_id_batch_id_row_index_anomaly_type_key ON public.import_anomalies USING btree (tenant_id, batch_id, row_index, anomaly_type)
index import_anomalies_unresolved: CREATE INDEX import_anomalies_unresolved ON public.import_anomalies USING btree (tenant_id, project_key, anomaly_type) WHERE ((status <> 'resolved'::text) AND (problem_id IS NULL))
index import_anomaly_rollups_created: CREATE INDEX import_anomaly_rollups_created ON public.import_anomaly_rollups USING btree (created_at)
index import_anomaly_rollups_pkey: CREATE UNIQUE INDEX import_anomaly_rollups_pkey ON public.import_anomaly_rollups USING btree (tenant_id, anomaly_type, severity, created_at)
index import_batch_decisions_pkey: CREATE UNIQUE INDEX import_batch_decisions_pkey ON public.import_batch_decisions USING btree (tenant_id, id)
index import_batch_decisions_staging: CREATE INDEX import_batch_decisions_staging ON public.import_batch_decisions USING btree (tenant_id, staging_id, id)
index import_problem_events_at: CREATE INDEX import_problem_events_at ON public.import_problem_events USING btree (tenant_id, at)
index import_problem_events_pkey: CREATE UNIQUE INDEX import_problem_events_pkey ON public.import_problem_events USING btree (tenant_id, id)
index import_problem_events_problem: CREATE INDEX import_problem_events_problem ON public.import_problem_events USING btree (tenant_id, problem_id, at, id)
index import_problem_rollups_clock_hour: CREATE INDEX import_problem_rollups_clock_hour ON public.import_problem_rollups USING btree (clock, hour)
index import_problem_rollups_pkey: CREATE UNIQUE INDEX import_problem_rollups_pkey ON public.import_problem_rollups USING btree (tenant_id, anomaly_type, severity, status, clock, hour)
index import_problems_id: CREATE INDEX import_problems_id ON public.import_problems USING btree (id)
index import_problems_open_ack_due: CREATE INDEX import_problems_open_ack_due ON public.import_problems USING btree (ack_due_at) WHERE (status = 'open'::text)
index import_problems_pkey: CREATE UNIQUE INDEX import_problems_pkey ON public.import_problems USING btree (tenant_id, id)
index import_problems_tenant_id_project_key_anomaly_type_unknown__key: CREATE UNIQUE INDEX import_problems_tenant_id_project_key_anomaly_type_unknown__key ON public.import_problems USING btree (tenant_id, project_key, anomaly_type, unknown_key)
index import_problems_tenant_seen: CREATE INDEX import_problems_tenant_seen ON public.import_problems USING btree (tenant_id, last_seen_at DESC, id DESC)
index import_problems_unresolved_due: CREATE INDEX import_problems_unresolved_due ON public.import_problems USING btree (LEAST(
CASE
    WHEN (status = 'open'::text) THEN ack_due_at
    ELSE NULL::timestamp with time zone
END, resolve_due_at)) WHERE (status <> 'resolved'::text)
index import_problems_unresolved_first_seen: CREATE INDEX import_problems_unresolved_first_seen ON public.import_problems USING btree (first_seen_at) WHERE (status <> 'resolved'::text)
index import_problems_unresolved_resolve_due: CREATE INDEX import_problems_unresolved_resolve_due ON public.import_problems USING btree (resolve_due_at) WHERE (status <> 'resolved'::text)
index import_problems_unresolved_seen: CREATE INDEX import_problems_unresolved_seen ON public.import_problems USING btree (last_seen_at DESC, id DESC) WHERE (status <> 'resolved'::text)
index import_requests_batch: CREATE INDEX import_requests_batch ON public.import_requests USING btree (batch_id) WHERE (batch_id IS NOT NULL)
index import_requests_created_id: CREATE INDEX import_requests_created_id ON public.import_requests USING btree (created_at DESC, id DESC)
index import_requests_id: CREATE INDEX import_requests_id ON public.import_requests USING btree (id)
index import_requests_pkey: CREATE UNIQUE INDEX import_requests_pkey ON public.import_requests USING btree (tenant_id, id)
index import_requests_tenant_created: CREATE INDEX import_requests_tenant_created ON public.import_requests USING btree (tenant_id, created_at DESC, id DESC)
index import_requests_tenant_success: CREATE INDEX import_requests_tenant_success ON public.import_requests USING btree (tenant_id, created_at DESC) WHERE (status = 200)
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
index staging_imports_checksum: CREATE INDEX staging_imports_checksum ON public.staging_imports USING btree (tenant_id, batch_checksum)
index staging_imports_created: CREATE INDEX staging_imports_created ON public.staging_imports USING btree (created_at)
index staging_imports_held: CREATE INDEX staging_imports_held ON public.staging_imports USING btree (tenant_id, created_at) WHERE (batch_state = 'held'::text)
index staging_imports_pkey: CREATE UNIQUE INDEX staging_imports_pkey ON public.staging_imports USING btree (tenant_id, id)
index staging_imports_request_digest: CREATE INDEX staging_imports_request_digest ON public.staging_imports USING btree (tenant_id, request_digest) WHERE (request_digest IS NOT NULL)
index staging_imports_tenant_created: CREATE INDEX staging_imports_tenant_created ON public.staging_imports USING btree (tenant_id, created_at DESC)
index staging_imports_tenant_id_batch_id_key: CREATE UNIQUE INDEX staging_imports_tenant_id_batch_id_key ON public.staging_imports USING btree (tenant_id, batch_id)
index tenant_events_pkey: CREATE UNIQUE INDEX tenant_events_pkey ON public.tenant_events USING btree (tenant_id, id)
index tenant_events_tenant_at: CREATE INDEX tenant_events_tenant_at ON public.tenant_events USING btree (tenant_id, at DESC)
index tenant_secrets_pkey: CREATE UNIQUE INDEX tenant_secrets_pkey ON public.tenant_secrets USING btree (tenant_id, secret_id)
index tenant_secrets_secret_id: CREATE INDEX tenant_secrets_secret_id ON public.tenant_secrets USING btree (secret_id)
index tenants_pkey: CREATE UNIQUE INDEX tenants_pkey ON public.tenants USING btree (tenant_id)

view public.vw_import_anomalies_recent with (security_invoker=true):
    SELECT id, tenant_id, batch_id, staging_id, row_index, project_key, anomaly_type, severity, payload_excerpt, correlation_id, created_at, status, acknowledged_at, acknowledged_by, resolved_at FROM import_anomalies a WHERE (created_at >= (now() - '14 days'::interval));

view public.vw_import_anomalies_stats_24h with (security_invoker=true):
    SELECT tenant_id, anomaly_type, severity, (sum(occurrences))::bigint AS count, (sum(unresolved))::bigint AS unresolved, max(created_at) AS last_seen_at FROM import_anomaly_rollups r WHERE (created_at >= (now() - '24:00:00'::interval)) GROUP BY tenant_id, anomaly_type, severity HAVING (sum(occurrences) > (0)::numeric);

view public.vw_project_members with (security_invoker=true):
    SELECT project_org_memberships.tenant_id, project_org_memberships.stage_application AS project_key, 'org'::text AS member_type, project_org_memberships.org_name AS member, project_org_memberships.role, project_org_memberships.since FROM project_org_memberships WHERE (project_org_memberships.ended_at IS NULL) UNION ALL SELECT project_user_memberships.tenant_id, project_user_memberships.stage_application AS project_key, 'user'::text AS member_type, project_user_memberships.username AS member, project_user_memberships.role, project_user_memberships.since FROM project_user_memberships WHERE (project_user_memberships.ended_at IS NULL);

view public.vw_tenant_freshness with (security_invoker=true):
    SELECT t.tenant_id, t.timezone, s.last_success_at, e.expected_at, COALESCE(((now() > (e.expected_at + make_interval(mins => t.schedule_grace_minutes))) AND ((s.last_success_at IS NULL) OR (s.last_success_at < e.expected_at)) AND (t.created_at < e.expected_at)), false) AS late, (t.paused_at IS NOT NULL) AS paused, t.paused_reason, t.paused_at FROM ((tenants t CROSS JOIN LATERAL (SELECT fn_tenant_last_success_at(t.tenant_id) AS last_success_at) s) CROSS JOIN LATERAL (SELECT fn_tenant_expected_at(now(), t.timezone, t.schedule_time, t.business_days) AS expected_at) e);

function auth.jwt() returns jsonb [sql, stable]:
select coalesce(nullif(current_setting('request.jwt.claims', true), ''), '{}')::jsonb

function public.fn_alert_evaluate(p_window_hours integer, p_min_occurrences integer, p_suppress_hours numeric, p_escalate_windows integer, p_escalate_ds_rm integer, p_alert_target text, p_escalation_target text, p_now timestamp with time zone) returns TABLE(tenant_id text, window_start timestamp with time zone, window_end timestamp with time zone, occurrences integer, errors integer, overdue integer, open_problems integer, new_problems integer, by_type jsonb, by_severity jsonb, problem_ids bigint[], batch_ids uuid[], alerting boolean, reasons text[], consecutive_windows integer, ds_rm_problems_24h integer, escalate boolean, escalation_reasons text[], escalation_problem_ids bigint[], alert_fingerprint text, escalation_fingerprint text, alert_suppressed boolean, escalation_suppressed boolean, alert_pending_id bigint, escalation_pending_id bigint) [plpgsql, volatile, set search_path=public, pg_temp]:
#variable_conflict use_column
declare
    v_length  interval;
    v_since   timestamptz;
    v_slot    timestamptz;
begin
    if p_window_hours is null or p_window_hours < 1 or p_window_hours > 8760 then
        raise exception 'fn_alert_evaluate: the window must be 1..8760 hours'
            using errcode = '22023';
    end if;
    if p_min_occurrences < 1 or p_suppress_hours < 0 or p_escalate_windows < 1
       or p_escalate_ds_rm < 0 then
        raise exception 'fn_alert_evaluate: thresholds must be positive, suppression 0 or more'
            using errcode = '22023';
    end if;
    v_length := make_interval(hours => p_window_hours);
    v_since := p_now - v_length;
    v_slot := date_bin(v_length, p_now, timestamptz '2000-01-01 00:00:00+00');

    create temp table if not exists pg_temp.alert_evaluation (
        tenant_id text, occurrences integer, errors integer, overdue integer,
        open_problems integer, new_problems integer, by_type jsonb, by_severity jsonb,
        problem_ids bigint[], batch_ids uuid[], ds_rm_ids bigint[], alerting boolean,
        reasons text[]
    ) on commit drop;
    truncate pg_temp.alert_evaluation;

    insert into pg_temp.alert_evaluation
    select * from fn_alert_evaluate_tenants(v_since, p_now, p_min_occurrences);
    perform fn_alert_evaluate_windows(v_slot, p_window_hours, p_now);
    return query
    select * from fn_alert_evaluate_judge(v_since, p_now, v_length, v_slot, p_suppress_hours,
                                          p_escalate_windows, p_escalate_ds_rm, p_alert_target,
                                          p_escalation_target);
end

function public.fn_alert_evaluate_judge(p_since timestamp with time zone, p_now timestamp with time zone, p_length interval, p_slot timestamp with time zone, p_suppress_hours numeric, p_escalate_windows integer, p_escalate_ds_rm integer, p_alert_target text, p_escalation_target text) returns TABLE(tenant_id text, window_start timestamp with time zone, window_end timestamp with time zone, occurrences integer, errors integer, overdue integer, open_problems integer, new_problems integer, by_type jsonb, by_severity jsonb, problem_ids bigint[], batch_ids uuid[], alerting boolean, reasons text[], consecutive_windows integer, ds_rm_problems_24h integer, escalate boolean, escalation_reasons text[], escalation_problem_ids bigint[], alert_fingerprint text, escalation_fingerprint text, alert_suppressed boolean, escalation_suppressed boolean, alert_pending_id bigint, escalation_pending_id bigint) [plpgsql, volatile, set search_path=public, pg_temp]:
#variable_conflict use_column
begin
    return query
    with judged as (
        select e.*,
               case when not e.alerting then 0 else
                   (select coalesce(min(g.k), 48)
                      from generate_series(0, 47) g(k)
                     where not exists (select 1 from public.alert_windows w
                                        where w.tenant_id = e.tenant_id
                                          and w.window_slot = p_slot - g.k * p_length))
               end as consecutive,
               array(select u.id from (select unnest(e.problem_ids) as id
                                       union select unnest(e.ds_rm_ids)) u order by 1)
                   as esc_ids
          from pg_temp.alert_evaluation e
    ), escalation as (
        select j.*,
               array_remove(array[
                   case when j.consecutive >= p_escalate_windows
                        then 'consecutive_windows' end,
                   case when cardinality(j.ds_rm_ids) > p_escalate_ds_rm
                        then 'ds_rm_problems_24h' end], null) as esc_reasons,
               encode(sha256(convert_to(
                   concat_ws(':', 'alert', coalesce(p_alert_target, ''),
                             array_to_string(j.problem_ids, ',')), 'UTF8')), 'hex') as alert_fp,
               encode(sha256(convert_to(
                   concat_ws(':', 'escalation', coalesce(p_escalation_target, ''),
                             array_to_string(j.esc_ids, ',')), 'UTF8')), 'hex') as esc_fp
          from judged j
    )
    select x.tenant_id, p_since, p_now, x.occurrences, x.errors, x.overdue, x.open_problems,
           x.new_problems, x.by_type, x.by_severity, x.problem_ids, x.batch_ids, x.alerting,
           x.reasons, x.consecutive, cardinality(x.ds_rm_ids), cardinality(x.esc_reasons) > 0,
           x.esc_reasons, x.esc_ids, x.alert_fp, x.esc_fp,
           exists (select 1 from public.alert_deliveries d
                    where d.tenant_id = x.tenant_id and d.kind = 'alert'
                      and d.fingerprint = x.alert_fp and d.status = 'delivered'
                      and d.delivered_at > p_now - make_interval(secs => p_suppress_hours * 3600)),
           exists (select 1 from public.alert_deliveries d
                    where d.tenant_id = x.tenant_id and d.kind = 'escalation'
                      and d.fingerprint = x.esc_fp and d.status = 'delivered'
                      and d.delivered_at > p_now - make_interval(secs => p_suppress_hours * 3600)),
           (select max(d.id) from public.alert_deliveries d
             where d.tenant_id = x.tenant_id and d.kind = 'alert'
               and d.fingerprint = x.alert_fp and d.status in ('pending', 'retrying')),
           (select max(d.id) from public.alert_deliveries d
             where d.tenant_id = x.tenant_id and d.kind = 'escalation'
               and d.fingerprint = x.esc_fp and d.status in ('pending', 'retrying'))
      from escalation x
     order by x.tenant_id;
end

function public.fn_alert_evaluate_tenants(p_since timestamp with time zone, p_now timestamp with time zone, p_min_occurrences integer) returns TABLE(tenant_id text, occurrences integer, errors integer, overdue integer, open_problems integer, new_problems integer, by_type jsonb, by_severity jsonb, problem_ids bigint[], batch_ids uuid[], ds_rm_ids bigint[], alerting boolean, reasons text[]) [plpgsql, volatile, set search_path=public, pg_temp]:
#variable_conflict use_column
begin
    return query
    with occ as (
        select a.tenant_id, a.problem_id, a.batch_id, a.anomaly_type, a.severity
          from public.import_anomalies a
          join public.import_problems p on p.tenant_id = a.tenant_id and p.id = a.problem_id
         where a.created_at > p_since and a.created_at <= p_now
           and p.status = 'open'
    ), late as (
        select p.tenant_id, p.id, p.last_batch_id
          from public.import_problems p
         where p.status <> 'resolved'
           and ((p.status = 'open' and p.ack_due_at <= p_now) or p.resolve_due_at <= p_now)
    ), dsrm as (
        select p.tenant_id, p.id
          from public.import_problems p
         where p.status <> 'resolved'
           and p.anomaly_type in ('UNKNOWN_DS', 'UNKNOWN_RM')
           and p.last_seen_at > p_now - interval '24 hours'
    ), seen as (
        select o.tenant_id from occ o
        union select l.tenant_id from late l
        union select d.tenant_id from dsrm d
    ), figures as (
        select s.tenant_id, t.alert_min_occurrences, t.alert_min_errors,
               (select count(*) from occ o where o.tenant_id = s.tenant_id)::integer as occ_n,
               (select count(*) from occ o where o.tenant_id = s.tenant_id
                                             and o.severity = 'error')::integer as err_n,
               (select count(*) from late l where l.tenant_id = s.tenant_id)::integer as late_n,
               (select count(*) from public.import_problems p
                 where p.tenant_id = s.tenant_id and p.status = 'open')::integer as open_n,
               (select count(*) from public.import_problems p
                 where p.tenant_id = s.tenant_id and p.status <> 'resolved'
                   and p.first_seen_at > p_since)::integer as new_n,
               coalesce((select jsonb_object_agg(x.anomaly_type, x.n)
                           from (select o.anomaly_type, count(*) as n from occ o
                                  where o.tenant_id = s.tenant_id group by 1) x), '{}')
                   as by_type,
               coalesce((select jsonb_object_agg(x.severity, x.n)
                           from (select o.severity, count(*) as n from occ o
                                  where o.tenant_id = s.tenant_id group by 1) x), '{}')
                   as by_severity,
               array(select u.id from (select o.problem_id as id from occ o
                                        where o.tenant_id = s.tenant_id
                                       union
                                       select l.id from late l
                                        where l.tenant_id = s.tenant_id) u
                      order by 1) as problem_ids,
               array(select u.id from (select o.batch_id as id from occ o
                                        where o.tenant_id = s.tenant_id
                                       union
                                       select l.last_batch_id from late l
                                        where l.tenant_id = s.tenant_id) u
                      where u.id is not null order by 1) as batch_ids,
               array(select d.id from dsrm d where d.tenant_id = s.tenant_id order by 1)
                   as ds_rm_ids
          from seen s
          join public.tenants t on t.tenant_id = s.tenant_id
    )
    select f.tenant_id, f.occ_n, f.err_n, f.late_n, f.open_n, f.new_n, f.by_type,
           f.by_severity, f.problem_ids, f.batch_ids, f.ds_rm_ids,
           cardinality(r.reasons) > 0, r.reasons
      from figures f
     cross join lateral (
        select array_remove(array[
            case when f.occ_n >= coalesce(p_min_occurrences, f.alert_min_occurrences)
                 then 'occurrences' end,
            case when p_min_occurrences is null and f.err_n >= f.alert_min_errors
                 then 'errors' end,
            case when f.late_n > 0 then 'overdue' end], null) as reasons
     ) r;
end

function public.fn_alert_evaluate_windows(p_slot timestamp with time zone, p_window_hours integer, p_now timestamp with time zone) returns void [plpgsql, volatile, set search_path=public, pg_temp]:
begin
    insert into public.alert_windows as w
           (tenant_id, window_slot, window_hours, occurrences, errors, overdue)
    select e.tenant_id, p_slot, p_window_hours, e.occurrences, e.errors, e.overdue
      from pg_temp.alert_evaluation e
     where e.alerting
    on conflict (tenant_id, window_slot) do update
       set occurrences = greatest(w.occurrences, excluded.occurrences),
           errors = greatest(w.errors, excluded.errors),
           overdue = greatest(w.overdue, excluded.overdue),
           evaluated_at = now();
    -- alert_windows only answers "the last few slots": a week is plenty
    delete from public.alert_windows w where w.window_slot < p_now - interval '7 days';
end

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

function public.fn_anomalies_for_operator(p_window_hours integer, p_tenant text, p_severity text[], p_limit integer, p_anomaly_type text[], p_status text[], p_batch_id uuid[], p_project_key text, p_after_created_at timestamp with time zone, p_after_id bigint) returns SETOF import_anomalies [plpgsql, stable]:
declare
    v_since timestamptz := '-infinity';
begin
    perform public.fn_require_operator();
    if p_window_hours is not null then
        perform public.fn_anomalies_check_window(p_window_hours);
        v_since := now() - make_interval(hours => p_window_hours);
    end if;
    perform public.fn_problems_check_filters(p_anomaly_type, p_status, p_severity, p_limit);
    if (p_after_created_at is null) <> (p_after_id is null) then
        raise exception 'the cursor needs both p_after_created_at and p_after_id'
            using errcode = 'invalid_parameter_value';
    end if;

    if p_tenant is null then
        return query
            select a.* from public.import_anomalies a
             where a.created_at >= v_since
               and (p_severity is null or a.severity = any (p_severity))
               and (p_anomaly_type is null or a.anomaly_type = any (p_anomaly_type))
               and (p_status is null or a.status = any (p_status))
               and (p_batch_id is null or a.batch_id = any (p_batch_id))
               and (p_project_key is null or a.project_key = p_project_key)
               and (p_after_created_at is null
                    or (a.created_at, a.id) < (p_after_created_at, p_after_id))
             order by a.created_at desc, a.id desc
             limit p_limit;
    else
        return query
            select a.* from public.import_anomalies a
             where a.tenant_id = p_tenant
               and a.created_at >= v_since
               and (p_severity is null or a.severity = any (p_severity))
               and (p_anomaly_type is null or a.anomaly_type = any (p_anomaly_type))
               and (p_status is null or a.status = any (p_status))
               and (p_batch_id is null or a.batch_id = any (p_batch_id))
               and (p_project_key is null or a.project_key = p_project_key)
               and (p_after_created_at is null
                    or (a.created_at, a.id) < (p_after_created_at, p_after_id))
             order by a.created_at desc, a.id desc
             limit p_limit;
    end if;
end

function public.fn_anomalies_stats(p_window_hours integer) returns TABLE(tenant_id text, anomaly_type text, severity text, count bigint, unresolved bigint, last_seen_at timestamp with time zone) [plpgsql, stable, set search_path=public, pg_temp]:
#variable_conflict use_column
begin
    perform public.fn_require_operator();
    perform public.fn_anomalies_check_window(p_window_hours);
    return query
        select r.tenant_id, r.anomaly_type, r.severity, sum(r.occurrences)::bigint,
               sum(r.unresolved)::bigint, max(r.created_at)
          from public.import_anomaly_rollups r
         where r.created_at >= now() - make_interval(hours => p_window_hours)
         group by 1, 2, 3
        having sum(r.occurrences) > 0
         order by 1, 2, 3;
end

function public.fn_anomaly_set_status(p_id bigint, p_status text) returns TABLE(id bigint, tenant_id text, status text, acknowledged_at timestamp with time zone, acknowledged_by text, resolved_at timestamp with time zone) [plpgsql, volatile, security definer, set search_path=public, pg_temp]:
#variable_conflict use_column
declare
    v_current  text;
    v_problem  bigint;
begin
    perform public.fn_require_operator();
    if p_status is null or p_status not in ('acknowledged', 'resolved') then
        raise exception 'status must be acknowledged or resolved, got %',
            coalesce(p_status, 'null')
            using errcode = 'invalid_parameter_value';
    end if;

    select a.problem_id into v_problem
      from public.import_anomalies a
     where a.id = p_id;
    if not found then
        raise exception 'no anomaly with id %', p_id using errcode = 'no_data_found';
    end if;

    if v_problem is not null then
        perform public.fn_problem_set_status(v_problem, p_status);
        return query
            select a.id, a.tenant_id, a.status, a.acknowledged_at, a.acknowledged_by,
                   a.resolved_at
              from public.import_anomalies a
             where a.id = p_id;
        return;
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

function public.fn_business_time_add(p_from timestamp with time zone, p_hours numeric, p_tenant_id text) returns timestamp with time zone [sql, stable, set search_path=public, pg_temp]:
select public.fn_business_time_add(p_from, p_hours, t.timezone, t.business_hours_start,
                                       t.business_hours_end, t.business_days)
      from public.tenants t
     where t.tenant_id = p_tenant_id

function public.fn_business_time_add(p_from timestamp with time zone, p_hours numeric, p_tz text, p_start time without time zone, p_end time without time zone, p_days integer[]) returns timestamp with time zone [plpgsql, stable, set search_path=public, pg_temp]:
declare
    v_local      timestamp;
    v_left       interval;
    v_day        date;
    v_open       timestamp;
    v_close      timestamp;
    v_available  interval;
    v_steps      integer := 0;
begin
    if p_from is null or p_hours is null then
        return null;
    end if;
    if p_hours < 0 or p_start is null or p_end is null or p_start >= p_end
       or p_days is null or cardinality(p_days) = 0
       or not p_days <@ '{1,2,3,4,5,6,7}'::integer[] then
        raise exception 'fn_business_time_add: needs hours >= 0, start < end and ISO days 1..7'
            using errcode = 'invalid_parameter_value';
    end if;
    v_local := p_from at time zone p_tz;
    v_left := make_interval(secs => p_hours * 3600);
    loop
        v_day := v_local::date;
        if extract(isodow from v_day)::integer = any (p_days) then
            v_open := v_day + p_start;
            v_close := v_day + p_end;
            if v_local < v_open then
                v_local := v_open;
            end if;
            if v_local < v_close then
                v_available := v_close - v_local;
                if v_left <= v_available then
                    return (v_local + v_left) at time zone p_tz;
                end if;
                v_left := v_left - v_available;
            end if;
        end if;
        v_local := (v_day + 1)::timestamp;
        v_steps := v_steps + 1;
        if v_steps > 3700 then     -- ten years of calendar: a misuse, not a real SLA
            raise exception 'fn_business_time_add: % hours is too far ahead', p_hours
                using errcode = 'invalid_parameter_value';
        end if;
    end loop;
end

function public.fn_cleanup_import_data(p_imports_days integer, p_anomalies_days integer, p_chunk_size integer, p_max_chunks integer) returns jsonb [plpgsql, volatile, set search_path=public, pg_temp]:
declare
    v_imports_cutoff    timestamptz;
    v_anomalies_cutoff  timestamptz;
    v_imports           bigint := 0;
    v_anomalies         bigint := 0;
    v_requests          bigint := 0;
    v_problems          bigint := 0;
    v_deliveries        bigint := 0;
    v_chunk_imports     integer;
    v_chunk_unlinked    integer;
    v_chunk_anomalies   integer;
    v_chunk_requests    integer;
    v_chunk_problems    integer;
    v_chunk_deliveries  integer;
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
        v_chunk_anomalies := fn_cleanup_import_data_anomalies(v_anomalies_cutoff, p_chunk_size);
        v_chunk_unlinked := fn_cleanup_import_data_unlink(v_imports_cutoff, p_chunk_size);
        v_chunk_imports := fn_cleanup_import_data_staging(v_imports_cutoff, p_chunk_size);
        v_chunk_requests := fn_cleanup_import_data_requests(v_imports_cutoff, p_chunk_size);
        v_chunk_problems := fn_cleanup_import_data_problems(v_anomalies_cutoff, p_chunk_size);
        v_chunk_deliveries := fn_cleanup_import_data_deliveries(v_imports_cutoff, p_chunk_size);

        v_chunks := v_chunks + 1;
        v_anomalies := v_anomalies + v_chunk_anomalies;
        v_imports := v_imports + v_chunk_imports;
        v_requests := v_requests + v_chunk_requests;
        v_problems := v_problems + v_chunk_problems;
        v_deliveries := v_deliveries + v_chunk_deliveries;
        v_more := v_chunk_anomalies = p_chunk_size or v_chunk_imports = p_chunk_size
                  or v_chunk_unlinked = p_chunk_size
                  or v_chunk_requests = p_chunk_size or v_chunk_problems = p_chunk_size
                  or v_chunk_deliveries = p_chunk_size;
    end loop;

    return jsonb_build_object(
        'staging_imports_deleted', v_imports,
        'import_anomalies_deleted', v_anomalies,
        'import_requests_deleted', v_requests,
        'import_problems_deleted', v_problems,
        'alert_deliveries_deleted', v_deliveries,
        'imports_days', p_imports_days,
        'anomalies_days', p_anomalies_days,
        'chunks', v_chunks,
        'complete', not v_more);
end

function public.fn_cleanup_import_data_anomalies(p_cutoff timestamp with time zone, p_chunk_size integer) returns integer [plpgsql, volatile, set search_path=public, pg_temp]:
declare
    v_count integer;
begin
    with doomed as (
        select tenant_id, id
          from import_anomalies
         where created_at < p_cutoff
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
    select count(*) into v_count from deleted;
    return v_count;
end

function public.fn_cleanup_import_data_deliveries(p_cutoff timestamp with time zone, p_chunk_size integer) returns integer [plpgsql, volatile, set search_path=public, pg_temp]:
declare
    v_count integer;
begin
    with doomed as (
        select tenant_id, id
          from public.alert_deliveries
         where created_at < p_cutoff
         order by created_at
         limit p_chunk_size
           for update skip locked
    ), deleted as (
        delete from public.alert_deliveries x
         using doomed d
         where x.tenant_id = d.tenant_id and x.id = d.id
        returning x.tenant_id, x.created_at
    ), counted as (
        insert into public.import_retention_stats as s
               (tenant_id, stat_date, alert_deliveries_count)
        select tenant_id, (created_at at time zone 'UTC')::date, count(*)
          from deleted
         group by 1, 2
        on conflict (tenant_id, stat_date) do update
           set alert_deliveries_count = s.alert_deliveries_count
                                        + excluded.alert_deliveries_count,
               last_updated_at = now()
        returning 1
    )
    select count(*) into v_count from deleted;
    return v_count;
end

function public.fn_cleanup_import_data_problems(p_cutoff timestamp with time zone, p_chunk_size integer) returns integer [plpgsql, volatile, set search_path=public, pg_temp]:
declare
    v_count integer;
begin
    with doomed as (
        select pr.tenant_id, pr.id
          from import_problems pr
         where pr.status = 'resolved'
           and pr.last_seen_at < p_cutoff
           and not exists (select 1 from import_anomalies a
                            where a.tenant_id = pr.tenant_id and a.problem_id = pr.id)
         order by pr.last_seen_at
         limit p_chunk_size
           for update skip locked
    ), deleted as (
        delete from import_problems pr
         using doomed d
         where pr.tenant_id = d.tenant_id and pr.id = d.id
        returning pr.tenant_id, pr.first_seen_at
    ), counted as (
        insert into import_retention_stats as s (tenant_id, stat_date, import_problems_count)
        select tenant_id, (first_seen_at at time zone 'UTC')::date, count(*)
          from deleted
         group by 1, 2
        on conflict (tenant_id, stat_date) do update
           set import_problems_count = s.import_problems_count
                                       + excluded.import_problems_count,
               last_updated_at = now()
        returning 1
    )
    select count(*) into v_count from deleted;
    return v_count;
end

function public.fn_cleanup_import_data_requests(p_cutoff timestamp with time zone, p_chunk_size integer) returns integer [plpgsql, volatile, set search_path=public, pg_temp]:
declare
    v_count integer;
begin
    with doomed as (
        select tenant_id, id
          from import_requests
         where created_at < p_cutoff
         order by created_at
         limit p_chunk_size
           for update skip locked
    ), deleted as (
        delete from import_requests r
         using doomed d
         where r.tenant_id = d.tenant_id and r.id = d.id
        returning r.tenant_id, r.created_at
    ), counted as (
        insert into import_retention_stats as s (tenant_id, stat_date, import_requests_count)
        select tenant_id, (created_at at time zone 'UTC')::date, count(*)
          from deleted
         group by 1, 2
        on conflict (tenant_id, stat_date) do update
           set import_requests_count = s.import_requests_count
                                       + excluded.import_requests_count,
               last_updated_at = now()
        returning 1
    )
    select count(*) into v_count from deleted;
    return v_count;
end

function public.fn_cleanup_import_data_staging(p_cutoff timestamp with time zone, p_chunk_size integer) returns integer [plpgsql, volatile, set search_path=public, pg_temp]:
declare
    v_count integer;
begin
    with doomed as (
        select s.tenant_id, s.id
          from staging_imports s
         where s.created_at < p_cutoff
           and not exists (select 1 from import_anomalies a
                            where a.tenant_id = s.tenant_id and a.batch_id = s.batch_id
                              and a.staging_id = s.id)
         order by s.created_at
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
    select count(*) into v_count from deleted;
    return v_count;
end

function public.fn_cleanup_import_data_unlink(p_cutoff timestamp with time zone, p_chunk_size integer) returns integer [plpgsql, volatile, set search_path=public, pg_temp]:
declare
    v_count integer;
begin
    -- A staged batch's occurrences lose their link before it goes, p_chunk_size at a
    -- time and never waiting on an occurrence an import holds: retention waits on no
    -- import, so the two cannot deadlock. A batch with occurrences still linked stays
    -- for a later chunk or run.
    with due as (
        select tenant_id, id, batch_id
          from staging_imports
         where created_at < p_cutoff
         order by created_at
         limit p_chunk_size
    ), linked as (
        select a.tenant_id, a.id
          from due d
          join import_anomalies a
            on a.tenant_id = d.tenant_id and a.batch_id = d.batch_id
           and a.staging_id = d.id
         limit p_chunk_size
           for update of a skip locked
    )
    update import_anomalies a
       set staging_id = null
      from linked l
     where a.tenant_id = l.tenant_id and a.id = l.id;
    get diagnostics v_count = row_count;
    return v_count;
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

function public.fn_directory_audit(p_tenant_id text, p_action text, p_directory text, p_before jsonb, p_after jsonb, p_problem_id bigint) returns bigint [plpgsql, volatile, set search_path=public, pg_temp]:
declare
    v_id bigint;
begin
    insert into directory_changes (tenant_id, actor, action, directory, before, after,
                                   problem_id)
    values (p_tenant_id, coalesce(nullif(auth.jwt() ->> 'sub', ''), current_user), p_action,
            p_directory, p_before, p_after, p_problem_id)
    returning id into v_id;
    return v_id;
end

function public.fn_directory_change_apply(p_tenant_id text, p_change_id bigint) returns jsonb [plpgsql, volatile, security definer, set search_path=public, pg_temp]:
declare
    v_change    directory_changes;
    v_values    text[];
    v_keys      text[];
    v_open      integer;
    v_backfill  jsonb;
    v_effect    jsonb;
begin
    perform fn_require_admin();
    select * into v_change from directory_changes
     where tenant_id = p_tenant_id and id = p_change_id
       for update;
    if not found then
        raise exception 'tenant % has no directory change %', coalesce(p_tenant_id, 'null'),
            coalesce(p_change_id::text, 'null')
            using errcode = 'no_data_found';
    end if;

    -- the directory keys of every value the row had before or has after the change
    select coalesce(array_agg(distinct fn_directory_key(x.value)), '{}') into v_values
      from (values (v_change.before), (v_change.after)) as s(row_json)
      cross join lateral jsonb_each_text(coalesce(s.row_json, '{}'::jsonb)) as x(key, value)
     where x.key in ('alias', 'canonical', 'preferred_username', 'display_name')
       and fn_directory_key(x.value) is not null;

    select coalesce(array_agg(p.stage_application), '{}') into v_keys
      from projects p
     where p.tenant_id = p_tenant_id
       and case v_change.directory
               when 'partners' then fn_directory_key(p.delivery_partner) = any (v_values)
               when 'ds' then fn_directory_key(p.deployment_specialist) = any (v_values)
               else fn_directory_key(p.rm_preferred_username) = any (v_values)
                    or fn_directory_key(p.relationship_manager) = any (v_values)
           end;

    select count(*) into v_open from import_problems pr
     where pr.tenant_id = p_tenant_id and pr.project_key = any (v_keys)
       and pr.status <> 'resolved';

    v_backfill := fn_projects_membership_backfill(p_tenant_id, v_keys);

    select jsonb_build_object('projects', cardinality(v_keys),
                              'problems_resolved', v_open - count(*))
           || v_backfill
      into v_effect
      from import_problems pr
     where pr.tenant_id = p_tenant_id and pr.project_key = any (v_keys)
       and pr.status <> 'resolved';

    -- the change keeps the effect of its first application (the console's, in its transaction)
    update directory_changes
       set effect = v_effect
     where tenant_id = p_tenant_id and id = p_change_id and effect = '{}'::jsonb;
    return v_effect;
end

function public.fn_directory_change_credit(p_tenant_id text, p_change_id bigint) returns integer [plpgsql, volatile, security definer, set search_path=public, pg_temp]:
declare
    v_change  directory_changes;
    v_note    text;
    v_ids     bigint[];
begin
    perform fn_require_admin();
    select * into v_change from directory_changes
     where tenant_id = p_tenant_id and id = p_change_id;
    if not found then
        raise exception 'tenant % has no directory change %', coalesce(p_tenant_id, 'null'),
            coalesce(p_change_id::text, 'null')
            using errcode = 'no_data_found';
    end if;
    v_note := format('directory change #%s (%s %s)', v_change.id, v_change.action,
                     v_change.directory);
    -- the problems this change resolved, locked up front by id
    select coalesce(array_agg(pr.id order by pr.id), '{}') into v_ids
      from import_problems pr
     where pr.tenant_id = p_tenant_id and pr.status = 'resolved'
       and pr.resolution = 'directory_fix' and pr.resolved_at = v_change.at
       and pr.resolved_by = 'system';
    perform fn_import_problems_lock(v_ids);
    update import_problems pr
       set resolved_by = v_change.actor, note = coalesce(pr.note, v_note)
     where pr.tenant_id = p_tenant_id and pr.id = any (v_ids);
    update import_problem_events e
       set actor = v_change.actor, note = coalesce(e.note, v_note)
     where e.tenant_id = p_tenant_id and e.problem_id = any (v_ids)
       and e.action = 'resolved' and e.resolution = 'directory_fix' and e.actor = 'system'
       and e.at = v_change.at;
    return cardinality(v_ids);
end

function public.fn_directory_change_undo(p_tenant_id text, p_change_id bigint) returns jsonb [plpgsql, volatile, security definer, set search_path=public, pg_temp]:
declare
    v_change    directory_changes;
    v_result    jsonb;
    v_undo      bigint;
    v_effect    jsonb;
    v_ids       bigint[];
    v_actor     text := coalesce(nullif(auth.jwt() ->> 'sub', ''), 'unknown');
    v_note      text;
begin
    perform fn_require_admin();
    select * into v_change from directory_changes
     where tenant_id = p_tenant_id and id = p_change_id
       for update;
    if not found then
        raise exception 'tenant % has no directory change %', coalesce(p_tenant_id, 'null'),
            coalesce(p_change_id::text, 'null')
            using errcode = 'no_data_found';
    end if;
    if v_change.undo_of is not null then
        raise exception 'directory change % is an undo itself: make the change again instead',
            p_change_id using errcode = 'object_not_in_prerequisite_state';
    end if;
    if exists (select 1 from directory_changes
                where tenant_id = p_tenant_id and undo_of = p_change_id) then
        raise exception 'directory change % was already undone', p_change_id
            using errcode = 'object_not_in_prerequisite_state';
    end if;

    if v_change.directory = 'partners' then
        if v_change.before is null then
            v_result := fn_directory_partner_remove(p_tenant_id, v_change.after ->> 'alias');
        else
            v_result := fn_directory_partner_set(p_tenant_id, v_change.before ->> 'alias',
                                                 v_change.before ->> 'canonical');
        end if;
    elsif v_change.before is null then
        if v_change.directory = 'ds' then
            delete from ds_directory where tenant_id = p_tenant_id
               and username_key = fn_directory_key(v_change.after ->> 'preferred_username');
        else
            delete from rm_directory where tenant_id = p_tenant_id
               and username_key = fn_directory_key(v_change.after ->> 'preferred_username');
        end if;
        v_result := jsonb_build_object('change_id', fn_directory_audit(
            p_tenant_id, 'remove', v_change.directory, v_change.after, null, null));
    else
        v_result := fn_directory_person_set(
            p_tenant_id, v_change.directory, v_change.before ->> 'preferred_username',
            v_change.before ->> 'display_name', (v_change.before ->> 'active')::boolean);
    end if;
    v_undo := (v_result ->> 'change_id')::bigint;
    if v_undo is null then
        raise exception 'directory change % cannot be undone: the directory already holds '
                        'what it held before', p_change_id
            using errcode = 'object_not_in_prerequisite_state';
    end if;
    update directory_changes set undo_of = p_change_id
     where tenant_id = p_tenant_id and id = v_undo;
    v_effect := fn_directory_change_apply(p_tenant_id, v_undo);

    -- reopen what the change resolved and applies again, locked up front by id
    v_note := format('undo of directory change #%s', p_change_id);
    select coalesce(array_agg(pr.id order by pr.id), '{}') into v_ids
      from import_problems pr
      join projects p on p.tenant_id = pr.tenant_id and p.stage_application = pr.project_key
     where pr.tenant_id = p_tenant_id and pr.status = 'resolved'
       and pr.resolution = 'directory_fix' and pr.resolved_at = v_change.at
       and exists (
           select 1
             from fn_import_anomaly_misses(p.delivery_partner, p.deployment_specialist,
                                           p.relationship_manager, p.rm_preferred_username,
                                           p.partner_org, p.ds_username, p.rm_username) m
            where m.anomaly_type = pr.anomaly_type
              and fn_directory_key(m.unknown_value) = pr.unknown_key);
    perform fn_import_problems_lock(v_ids);
    update import_problems pr
       set status = case when pr.acknowledged_at is null then 'open' else 'acknowledged' end,
           resolved_at = null, resolved_by = null, resolution = null
     where pr.tenant_id = p_tenant_id and pr.id = any (v_ids) and pr.status = 'resolved';
    insert into import_problem_events (tenant_id, problem_id, actor, action, note)
    select p_tenant_id, x.id, v_actor, 'reopened', v_note from unnest(v_ids) as x(id);
    update import_anomalies a
       set status = pr.status, acknowledged_at = pr.acknowledged_at,
           acknowledged_by = pr.acknowledged_by, resolved_at = null
      from import_problems pr
     where pr.tenant_id = p_tenant_id and pr.id = any (v_ids)
       and a.tenant_id = pr.tenant_id and a.problem_id = pr.id;

    return jsonb_build_object('change_id', v_undo, 'problems_reopened', cardinality(v_ids),
                              'effect', v_effect);
end

function public.fn_directory_check_tenant(p_tenant_id text) returns void [plpgsql, stable, set search_path=public, pg_temp]:
begin
    if not exists (select 1 from tenants where tenant_id = p_tenant_id) then
        raise exception 'no tenant %', coalesce(p_tenant_id, 'null')
            using errcode = 'no_data_found';
    end if;
end

function public.fn_directory_key(p_value text) returns text [sql, immutable]:
select nullif(btrim(lower(regexp_replace(p_value, '\s+', ' ', 'g'))), '')

function public.fn_directory_partner_remove(p_tenant_id text, p_alias text) returns jsonb [plpgsql, volatile, security definer, set search_path=public, pg_temp]:
declare
    v_before partner_normalization;
begin
    perform fn_require_admin();
    perform fn_directory_check_tenant(p_tenant_id);
    delete from partner_normalization
     where tenant_id = p_tenant_id and alias_key = fn_directory_key(p_alias)
    returning * into v_before;
    if not found then
        raise exception 'tenant % has no partner alias %', p_tenant_id, coalesce(p_alias, 'null')
            using errcode = 'no_data_found';
    end if;
    return jsonb_build_object(
        'change_id', fn_directory_audit(
            p_tenant_id, 'remove', 'partners',
            jsonb_build_object('alias', v_before.alias, 'canonical', v_before.canonical), null),
        'action', 'remove', 'alias_key', v_before.alias_key);
end

function public.fn_directory_partner_set(p_tenant_id text, p_alias text, p_canonical text, p_problem_id bigint) returns jsonb [plpgsql, volatile, security definer, set search_path=public, pg_temp]:
declare
    v_alias     text := btrim(p_alias);
    v_canonical text := btrim(p_canonical);
    v_before    partner_normalization;
    v_after     partner_normalization;
    v_action    text;
begin
    perform fn_require_admin();
    perform fn_directory_check_tenant(p_tenant_id);
    if fn_directory_key(v_alias) is null or fn_directory_key(v_canonical) is null then
        raise exception 'alias and canonical must not be blank' using errcode = '22023';
    end if;
    if char_length(v_alias) > 256 or char_length(v_canonical) > 256 then
        raise exception 'alias and canonical must be at most 256 characters'
            using errcode = '22023';
    end if;

    select * into v_before from partner_normalization
     where tenant_id = p_tenant_id and alias_key = fn_directory_key(v_alias)
       for update;
    if found and (v_before.alias, v_before.canonical) = (v_alias, v_canonical) then
        return jsonb_build_object('change_id', null, 'action', null,
                                  'alias_key', v_before.alias_key);
    end if;
    v_action := case when v_before.alias_key is null then 'add' else 'update' end;

    insert into partner_normalization (tenant_id, alias, canonical)
    values (p_tenant_id, v_alias, v_canonical)
    on conflict (tenant_id, alias_key) do update
       set alias = excluded.alias, canonical = excluded.canonical, updated_at = now()
    returning * into v_after;

    return jsonb_build_object(
        'change_id', fn_directory_audit(
            p_tenant_id, v_action, 'partners',
            case when v_action = 'update'
                 then jsonb_build_object('alias', v_before.alias,
                                         'canonical', v_before.canonical) end,
            jsonb_build_object('alias', v_after.alias, 'canonical', v_after.canonical),
            p_problem_id),
        'action', v_action, 'alias_key', v_after.alias_key);
end

function public.fn_directory_person_set(p_tenant_id text, p_directory text, p_username text, p_display_name text, p_active boolean, p_problem_id bigint) returns jsonb [plpgsql, volatile, security definer, set search_path=public, pg_temp]:
declare
    v_username text := btrim(p_username);
    v_display  text := nullif(btrim(p_display_name), '');
    v_before   jsonb;
    v_after    jsonb;
    v_action   text;
begin
    perform fn_require_admin();
    perform fn_directory_check_tenant(p_tenant_id);
    if p_directory is null or p_directory not in ('ds', 'rm') then
        raise exception 'directory must be ds or rm, got %', coalesce(p_directory, 'null')
            using errcode = '22023';
    end if;
    if fn_directory_key(v_username) is null then
        raise exception 'preferred_username must not be blank' using errcode = '22023';
    end if;
    if char_length(v_username) > 256 or char_length(v_display) > 256 then
        raise exception 'preferred_username and display_name must be at most 256 characters'
            using errcode = '22023';
    end if;
    if p_active is null then
        raise exception 'active must be true or false' using errcode = '22023';
    end if;

    if p_directory = 'ds' then
        select to_jsonb(d) - 'username_key' - 'tenant_id' into v_before from ds_directory d
         where d.tenant_id = p_tenant_id and d.username_key = fn_directory_key(v_username)
           for update;
        insert into ds_directory as d (tenant_id, preferred_username, display_name, active)
        values (p_tenant_id, v_username, v_display, p_active)
        on conflict (tenant_id, username_key) do update
           set preferred_username = excluded.preferred_username,
               display_name = coalesce(excluded.display_name, d.display_name),
               active = excluded.active, updated_at = now()
        returning to_jsonb(d) - 'username_key' - 'tenant_id' into v_after;
    else
        select to_jsonb(r) - 'username_key' - 'display_key' - 'tenant_id' into v_before
          from rm_directory r
         where r.tenant_id = p_tenant_id and r.username_key = fn_directory_key(v_username)
           for update;
        if v_before is null and v_display is null then
            raise exception 'a relationship manager needs a display_name'
                using errcode = '22023';
        end if;
        insert into rm_directory as r (tenant_id, preferred_username, display_name, active)
        values (p_tenant_id, v_username, coalesce(v_display, v_before ->> 'display_name'),
                p_active)
        on conflict (tenant_id, username_key) do update
           set preferred_username = excluded.preferred_username,
               display_name = excluded.display_name,
               active = excluded.active, updated_at = now()
        returning to_jsonb(r) - 'username_key' - 'display_key' - 'tenant_id' into v_after;
    end if;

    if v_before is not null and (v_before - 'updated_at') = (v_after - 'updated_at') then
        return jsonb_build_object('change_id', null, 'action', null);
    end if;
    v_action := case
        when v_before is null then 'add'
        when (v_before ->> 'active')::boolean and not p_active then 'deactivate'
        when not (v_before ->> 'active')::boolean and p_active then 'reactivate'
        else 'update' end;
    return jsonb_build_object(
        'change_id', fn_directory_audit(p_tenant_id, v_action, p_directory,
                                        v_before - 'updated_at', v_after - 'updated_at',
                                        p_problem_id),
        'action', v_action);
end

function public.fn_directory_suggestions(p_tenant_id text, p_anomaly_type text, p_value text, p_limit integer) returns TABLE(directory text, canonical text, username text, display_name text, matched text, active boolean, score real) [plpgsql, stable, security definer, set search_path=public, extensions, pg_temp]:
#variable_conflict use_column
declare
    v_key text := public.fn_directory_key(p_value);
begin
    perform public.fn_require_operator();
    if p_anomaly_type is null
       or p_anomaly_type not in ('UNKNOWN_DELIVERY_PARTNER', 'UNKNOWN_DS', 'UNKNOWN_RM') then
        raise exception 'anomaly type must be UNKNOWN_DELIVERY_PARTNER, UNKNOWN_DS or '
                        'UNKNOWN_RM, got %', coalesce(p_anomaly_type, 'null')
            using errcode = 'invalid_parameter_value';
    end if;
    if v_key is null then
        return;
    end if;

    if p_anomaly_type = 'UNKNOWN_DELIVERY_PARTNER' then
        return query
            with candidates as (
                select pn.canonical, c.name as matched,
                       similarity(v_key, public.fn_directory_key(c.name)) as score
                  from public.partner_normalization pn
                  cross join lateral (values (pn.canonical), (pn.alias)) as c(name)
                 where pn.tenant_id = p_tenant_id
            ), best as (
                select distinct on (public.fn_directory_key(canonical)) canonical, matched, score
                  from candidates
                 order by public.fn_directory_key(canonical), score desc, matched
            )
            select 'partners'::text, b.canonical, null::text, null::text, b.matched, true,
                   b.score
              from best b
             where b.score >= 0.3
             order by b.score desc, b.canonical
             limit p_limit;
    else
        return query
            with people as (
                select d.preferred_username, d.display_name, d.active
                  from public.ds_directory d
                 where p_anomaly_type = 'UNKNOWN_DS' and d.tenant_id = p_tenant_id
                union all
                select r.preferred_username, r.display_name, r.active
                  from public.rm_directory r
                 where p_anomaly_type = 'UNKNOWN_RM' and r.tenant_id = p_tenant_id
            ), scored as (
                select p.*,
                       greatest(similarity(v_key, public.fn_directory_key(p.preferred_username)),
                                coalesce(similarity(v_key,
                                                    public.fn_directory_key(p.display_name)),
                                         0)) as score,
                       v_key in (public.fn_directory_key(p.preferred_username),
                                 public.fn_directory_key(p.display_name)) as exact
                  from people p
            )
            select case when p_anomaly_type = 'UNKNOWN_DS' then 'ds' else 'rm' end,
                   null::text, s.preferred_username, s.display_name,
                   case when similarity(v_key, public.fn_directory_key(s.preferred_username))
                             >= coalesce(similarity(v_key,
                                                    public.fn_directory_key(s.display_name)), 0)
                        then s.preferred_username else s.display_name end,
                   s.active, case when s.exact then 1::real else s.score end
              from scored s
             where (s.active and (s.score >= 0.3 or s.exact)) or (not s.active and s.exact)
             order by s.exact desc, s.score desc, s.preferred_username
             limit p_limit;
    end if;
end

function public.fn_import_anomalies_lock(p_ids bigint[]) returns integer [sql, volatile, set search_path=public, pg_temp]:
select count(*)::integer
      from (select a.id from public.import_anomalies a
             where a.id = any (p_ids)
             order by a.id
               for update) locked

function public.fn_import_anomaly_applies(p_anomaly_type text, p_project projects) returns boolean [sql, immutable]:
select exists (
        select 1
          from public.fn_import_anomaly_misses(
                p_project.delivery_partner, p_project.deployment_specialist,
                p_project.relationship_manager, p_project.rm_preferred_username,
                p_project.partner_org, p_project.ds_username, p_project.rm_username) m
         where m.anomaly_type = p_anomaly_type)

function public.fn_import_anomaly_misses(p_delivery_partner text, p_deployment_specialist text, p_relationship_manager text, p_rm_preferred_username text, p_partner_org text, p_ds_username text, p_rm_username text) returns TABLE(anomaly_type text, severity text, unknown_value text) [sql, immutable]:
select m.anomaly_type, m.severity, m.unknown_value
      from (values
            ('UNKNOWN_DELIVERY_PARTNER', 'warning',
             public.fn_import_anomaly_subject('UNKNOWN_DELIVERY_PARTNER', p_delivery_partner,
                 p_deployment_specialist, p_relationship_manager, p_rm_preferred_username),
             p_partner_org),
            ('UNKNOWN_DS', 'error',
             public.fn_import_anomaly_subject('UNKNOWN_DS', p_delivery_partner,
                 p_deployment_specialist, p_relationship_manager, p_rm_preferred_username),
             p_ds_username),
            ('UNKNOWN_RM', 'error',
             public.fn_import_anomaly_subject('UNKNOWN_RM', p_delivery_partner,
                 p_deployment_specialist, p_relationship_manager, p_rm_preferred_username),
             p_rm_username)
           ) as m(anomaly_type, severity, unknown_value, canonical)
     where m.unknown_value is not null and m.canonical is null

function public.fn_import_anomaly_rollups_apply(p_delta import_anomaly_rollups[]) returns void [plpgsql, volatile, security definer, set search_path=public, pg_temp]:
begin
    insert into public.import_anomaly_rollups as r
           (tenant_id, anomaly_type, severity, created_at, occurrences, unresolved)
    select d.tenant_id, d.anomaly_type, d.severity, d.created_at, sum(d.occurrences),
           sum(d.unresolved)
      from unnest(p_delta) d
     group by 1, 2, 3, 4
    having sum(d.occurrences) <> 0 or sum(d.unresolved) <> 0
     order by 1, 2, 3, 4
    on conflict (tenant_id, anomaly_type, severity, created_at)
    do update set occurrences = r.occurrences + excluded.occurrences,
                  unresolved = r.unresolved + excluded.unresolved;

    if exists (select 1 from unnest(p_delta) d where d.occurrences < 0) then
        delete from public.import_anomaly_rollups r
         where r.occurrences = 0
           and (r.tenant_id, r.anomaly_type, r.severity, r.created_at) in
               (select d.tenant_id, d.anomaly_type, d.severity, d.created_at
                  from unnest(p_delta) d where d.occurrences < 0);
    end if;
end

function public.fn_import_anomaly_rollups_trigger() returns trigger [plpgsql, volatile, security definer, set search_path=public, pg_temp]:
declare
    v_delta public.import_anomaly_rollups[];
begin
    if tg_op = 'INSERT' then
        select array_agg(row(a.tenant_id, a.anomaly_type, a.severity, a.created_at, a.n,
                             a.u)::public.import_anomaly_rollups)
          into v_delta
          from (select tenant_id, anomaly_type, severity, created_at, count(*) as n,
                       count(*) filter (where status <> 'resolved') as u
                  from new_rows group by 1, 2, 3, 4) a;
    elsif tg_op = 'DELETE' then
        select array_agg(row(a.tenant_id, a.anomaly_type, a.severity, a.created_at, -a.n,
                             -a.u)::public.import_anomaly_rollups)
          into v_delta
          from (select tenant_id, anomaly_type, severity, created_at, count(*) as n,
                       count(*) filter (where status <> 'resolved') as u
                  from old_rows group by 1, 2, 3, 4) a;
    else
        select array_agg(row(a.tenant_id, a.anomaly_type, a.severity, a.created_at, a.n,
                             a.u)::public.import_anomaly_rollups)
          into v_delta
          from (select x.tenant_id, x.anomaly_type, x.severity, x.created_at,
                       sum(x.n) as n, sum(x.u) as u
                  from (select o.tenant_id, o.anomaly_type, o.severity, o.created_at,
                               -1 as n, -(o.status <> 'resolved')::integer as u
                          from old_rows o
                        union all
                        select n.tenant_id, n.anomaly_type, n.severity, n.created_at,
                               1, (n.status <> 'resolved')::integer
                          from new_rows n) x
                 group by 1, 2, 3, 4
                having sum(x.n) <> 0 or sum(x.u) <> 0) a;
    end if;
    if v_delta is not null then
        perform public.fn_import_anomaly_rollups_apply(v_delta);
    end if;
    return null;
end

function public.fn_import_anomaly_subject(p_anomaly_type text, p_delivery_partner text, p_deployment_specialist text, p_relationship_manager text, p_rm_preferred_username text) returns text [sql, immutable]:
select nullif(btrim(case p_anomaly_type
               when 'UNKNOWN_DELIVERY_PARTNER' then p_delivery_partner
               when 'UNKNOWN_DS' then p_deployment_specialist
               when 'UNKNOWN_RM' then coalesce(nullif(btrim(p_rm_preferred_username), ''),
                                               p_relationship_manager)
           end), '')

function public.fn_import_audit_after(p_tenant_id text, p_before jsonb, p_metrics jsonb) returns jsonb [plpgsql, volatile, set search_path=public, pg_temp]:
declare
    v_limits        jsonb := fn_import_audit_limits(p_tenant_id);
    v_existing      integer := (p_before ->> 'existing_projects')::integer;
    v_active        integer := (p_before ->> 'active_memberships')::integer;
    v_rows          integer := coalesce((p_metrics ->> 'rows')::integer, 0);
    v_ended         integer := coalesce((p_metrics ->> 'memberships_ended')::integer, 0);
    v_anomaly_rows  integer;
    v_changed       integer;
    v_observed      jsonb;
    v_findings      jsonb := '[]'::jsonb;
    v_check         text;
begin
    if p_before is null then
        return jsonb_build_object('findings', '[]'::jsonb, 'held', false, 'limits', v_limits);
    end if;
    select count(distinct row_index) into v_anomaly_rows from pg_temp.import_batch_misses;
    select count(*) into v_changed
      from pg_temp.import_audit_before b
      join projects p on p.tenant_id = p_tenant_id and p.stage_application = b.stage_application
     where b.assignment is distinct from
           array[p.delivery_partner, p.deployment_specialist, p.relationship_manager,
                 p.rm_preferred_username, p.partner_org, p.ds_username, p.rm_username];

    v_observed := jsonb_build_object(
        'ended_share', case when v_active > 0 then round(v_ended::numeric / v_active, 4)
                            else 0 end,
        'anomaly_share', case when v_rows > 0 then round(v_anomaly_rows::numeric / v_rows, 4)
                              else 0 end,
        'changed_share', case when v_existing > 0
                              then round(v_changed::numeric / v_existing, 4) else 0 end);

    if (v_limits ->> 'enabled')::boolean and v_existing >= (v_limits ->> 'min_rows')::integer
    then
        foreach v_check in array array['ended', 'anomaly', 'changed'] loop
            if (v_observed ->> (v_check || '_share'))::numeric
               > (v_limits ->> ('max_' || v_check || '_share'))::numeric then
                v_findings := v_findings || jsonb_build_object(
                    'check', 'max_' || v_check || '_share',
                    'observed', (v_observed ->> (v_check || '_share'))::numeric,
                    'limit', (v_limits ->> ('max_' || v_check || '_share'))::numeric);
            end if;
        end loop;
    end if;

    return jsonb_build_object(
        'findings', v_findings,
        'held', jsonb_array_length(v_findings) > 0,
        'observed', v_observed,
        'figures', jsonb_build_object(
            'existing_projects', v_existing, 'active_memberships', v_active,
            'memberships_ended', v_ended, 'rows', v_rows, 'rows_with_anomalies', v_anomaly_rows,
            'changed_projects', v_changed),
        'limits', v_limits);
end

function public.fn_import_audit_before(p_tenant_id text, p_keys text[]) returns jsonb [plpgsql, volatile, set search_path=public, pg_temp]:
declare
    v_existing  integer;
    v_active    integer;
begin
    if not (select t.audit_enabled from tenants t where t.tenant_id = p_tenant_id) then
        return null;
    end if;
    create temp table if not exists pg_temp.import_audit_before (
        stage_application text primary key,
        assignment        text[]
    ) on commit drop;
    truncate pg_temp.import_audit_before;
    insert into pg_temp.import_audit_before
    select p.stage_application,
           array[p.delivery_partner, p.deployment_specialist, p.relationship_manager,
                 p.rm_preferred_username, p.partner_org, p.ds_username, p.rm_username]
      from projects p
     where p.tenant_id = p_tenant_id
       and p.stage_application = any (array(select btrim(k) from unnest(p_keys) k))
    on conflict do nothing;
    get diagnostics v_existing = row_count;

    select (select count(*) from project_org_memberships m
             where m.tenant_id = p_tenant_id and m.ended_at is null
               and m.stage_application in (select stage_application
                                             from pg_temp.import_audit_before))
         + (select count(*) from project_user_memberships m
             where m.tenant_id = p_tenant_id and m.ended_at is null
               and m.stage_application in (select stage_application
                                             from pg_temp.import_audit_before))
      into v_active;
    return jsonb_build_object('existing_projects', v_existing,
                              'active_memberships', v_active);
end

function public.fn_import_audit_limits(p_tenant_id text) returns jsonb [sql, stable, set search_path=public, pg_temp]:
select jsonb_build_object(
               'enabled', t.audit_enabled,
               'max_ended_share', t.audit_max_ended_share,
               'max_anomaly_share', t.audit_max_anomaly_share,
               'max_changed_share', t.audit_max_changed_share,
               'min_rows', t.audit_min_rows)
      from tenants t
     where t.tenant_id = p_tenant_id

function public.fn_import_batch_diff(p_tenant_id text, p_batch_id uuid, p_rows jsonb) returns jsonb [plpgsql, volatile, set search_path=public, pg_temp]:
declare
    v_keys     text[] := array(select distinct btrim(r ->> 'stage_application')
                                 from jsonb_array_elements(p_rows) r);
    v_publish  jsonb;
    v_diff     jsonb;
begin
    create temp table if not exists pg_temp.import_diff_before (
        project_key text primary key, fields jsonb, members text[]) on commit drop;
    truncate pg_temp.import_diff_before;
    insert into pg_temp.import_diff_before
    select * from fn_import_projects_snapshot(p_tenant_id, v_keys);
    begin
        v_publish := fn_import_batch_publish(p_tenant_id, p_batch_id, p_rows, 'preview');
        select coalesce(jsonb_agg(d order by d ->> 'project_key'), '[]'::jsonb) into v_diff
          from (
            select jsonb_build_object(
                       'project_key', a.project_key,
                       'inserted', b.project_key is null,
                       'fields', coalesce((select jsonb_object_agg(k, jsonb_build_array(
                                                   b.fields -> k, a.fields -> k))
                                             from jsonb_object_keys(a.fields) k
                                            where b.fields -> k is distinct from a.fields -> k),
                                          '{}'::jsonb),
                       'memberships_added', to_jsonb(array(
                           select unnest(a.members) except
                           select unnest(coalesce(b.members, '{}')) order by 1)),
                       'memberships_ended', to_jsonb(array(
                           select unnest(coalesce(b.members, '{}')) except
                           select unnest(a.members) order by 1))) as d
              from fn_import_projects_snapshot(p_tenant_id, v_keys) a
              left join pg_temp.import_diff_before b using (project_key)
             where b.project_key is null or a.fields is distinct from b.fields
                or a.members is distinct from b.members
          ) changed;
        raise exception 'diff only' using errcode = 'PIHLD';
    exception when sqlstate 'PIHLD' then
        null;
    end;
    return jsonb_build_object(
        'batch_state', v_publish ->> 'batch_state',
        'metrics', v_publish -> 'metrics',
        'superseded_rows', v_publish -> 'superseded_rows',
        'counts', jsonb_build_object(
            'projects_changed', jsonb_array_length(v_diff),
            'projects_inserted', (select count(*) from jsonb_array_elements(v_diff) d
                                   where (d ->> 'inserted')::boolean),
            'memberships_added', (select coalesce(sum(jsonb_array_length(
                                                      d -> 'memberships_added')), 0)
                                    from jsonb_array_elements(v_diff) d),
            'memberships_ended', (select coalesce(sum(jsonb_array_length(
                                                      d -> 'memberships_ended')), 0)
                                    from jsonb_array_elements(v_diff) d)),
        'projects', v_diff);
end

function public.fn_import_batch_for_operator(p_id bigint) returns jsonb [plpgsql, stable, security definer, set search_path=public, pg_temp]:
declare
    v_request  import_requests%rowtype;
    v_answer   jsonb;
begin
    perform fn_require_operator();
    select * into v_request from import_requests r where r.id = p_id;
    if not found then
        raise exception 'no import request with id %', p_id using errcode = 'no_data_found';
    end if;
    select jsonb_build_object(
               'tenant_id', s.tenant_id, 'batch_id', s.batch_id, 'staging_id', s.id,
               'batch_state', s.batch_state, 'staged_at', s.created_at,
               'audit', s.validation #> '{held,audit}',
               'held_metrics', s.validation #> '{held,metrics}',
               'decisions', coalesce((
                   select jsonb_agg(jsonb_build_object(
                              'decision', d.decision, 'actor', d.actor, 'reason', d.reason,
                              'decided_at', d.decided_at, 'details', d.details) order by d.id)
                     from import_batch_decisions d
                    where d.tenant_id = s.tenant_id and d.staging_id = s.id), '[]'::jsonb))
      into v_answer
      from staging_imports s
     where s.tenant_id = v_request.tenant_id and s.batch_id = v_request.batch_id
       and v_request.staging_id is not null;
    return v_answer;
end

function public.fn_import_batch_hold(p_tenant_id text, p_batch_id uuid, p_metrics jsonb, p_audit jsonb) returns jsonb [plpgsql, volatile, set search_path=public, pg_temp]:
declare
    v_staging_id  uuid;
begin
    update staging_imports
       set batch_state = 'held',
           validation = validation || jsonb_build_object(
               'held', jsonb_build_object('metrics', p_metrics, 'audit', p_audit))
     where tenant_id = p_tenant_id and batch_id = p_batch_id
    returning id into v_staging_id;
    insert into import_batch_decisions (tenant_id, staging_id, batch_id, decision, actor,
                                        details)
    values (p_tenant_id, v_staging_id, p_batch_id, 'held', 'system',
            jsonb_build_object('findings', p_audit -> 'findings'));
    return jsonb_build_object('outcome', 'held', 'batch_id', p_batch_id,
                              'staging_id', v_staging_id, 'metrics', p_metrics,
                              'audit', p_audit);
end

function public.fn_import_batch_overtaken(p_tenant_id text, p_staging_id uuid) returns text[] [sql, stable, set search_path=public, pg_temp]:
select coalesce(array_agg(distinct btrim(r ->> 'stage_application')), '{}')
      from staging_imports h
      join staging_imports s
        on s.tenant_id = h.tenant_id and s.created_at > h.created_at
       and s.batch_state in ('merged', 'published', 'superseded')
     cross join lateral jsonb_array_elements(s.raw -> 'rows') r
     where h.tenant_id = p_tenant_id and h.id = p_staging_id
       and btrim(r ->> 'stage_application') in (
               select btrim(x ->> 'stage_application')
                 from jsonb_array_elements(h.raw -> 'rows') x)

function public.fn_import_batch_problems_lock(p_tenant_id text) returns integer [plpgsql, volatile, set search_path=public, pg_temp]:
begin
    return fn_import_problems_lock(array(
        select pr.id
          from import_problems pr
          join pg_temp.import_batch b on pr.project_key = b.stage_application
         where pr.tenant_id = p_tenant_id and pr.status <> 'resolved'
        union
        select pr.id
          from import_problems pr
          join pg_temp.import_batch_misses a
            on pr.project_key = a.project_key and pr.anomaly_type = a.anomaly_type
           and pr.unknown_key = a.unknown_key
         where pr.tenant_id = p_tenant_id and a.fresh));
end

function public.fn_import_batch_publish(p_tenant_id text, p_batch_id uuid, p_rows jsonb, p_actor text) returns jsonb [plpgsql, volatile, set search_path=public, pg_temp]:
declare
    v_staged     staging_imports%rowtype;
    v_overtaken  text[];
    v_rows       jsonb;
    v_metrics    jsonb;
    v_state      text;
begin
    perform fn_projects_import_lock(p_tenant_id);
    select * into v_staged from staging_imports
     where tenant_id = p_tenant_id and batch_id = p_batch_id
       for update;
    if not found then
        raise exception 'no staged batch % for tenant %', p_batch_id, p_tenant_id
            using errcode = 'no_data_found';
    end if;
    if v_staged.batch_state <> 'held' then
        raise exception 'batch % is %, not held', p_batch_id, v_staged.batch_state
            using errcode = 'object_not_in_prerequisite_state';
    end if;
    v_overtaken := fn_import_batch_overtaken(p_tenant_id, v_staged.id);
    select coalesce(jsonb_agg(r order by o), '[]'::jsonb) into v_rows
      from jsonb_array_elements(p_rows) with ordinality as e(r, o)
     where btrim(r ->> 'stage_application') <> all (v_overtaken);

    if jsonb_array_length(v_rows) > 0 then
        v_metrics := fn_projects_import_merge(p_tenant_id, v_staged.source, p_batch_id, v_rows,
                                              v_staged.correlation_id);
    else
        v_metrics := jsonb_build_object('rows', 0, 'staging_id', v_staged.id);
    end if;
    v_state := case when cardinality(v_overtaken) > 0 then 'superseded' else 'published' end;
    update staging_imports
       set batch_state = v_state,
           validation = case when validation ? 'metrics' then validation
                             else validation || jsonb_build_object('metrics', v_metrics) end
     where tenant_id = p_tenant_id and id = v_staged.id;
    insert into import_batch_decisions (tenant_id, staging_id, batch_id, decision, actor,
                                        details)
    values (p_tenant_id, v_staged.id, p_batch_id, v_state,
            coalesce(nullif(btrim(p_actor), ''), 'unknown'),
            jsonb_build_object('metrics', v_metrics,
                               'superseded_rows', cardinality(v_overtaken)));
    return jsonb_build_object('batch_id', p_batch_id, 'staging_id', v_staged.id,
                              'batch_state', v_state, 'metrics', v_metrics,
                              'superseded_rows', cardinality(v_overtaken),
                              'superseded_projects', to_jsonb(v_overtaken));
end

function public.fn_import_batch_reject(p_tenant_id text, p_batch_id uuid, p_reason text, p_actor text) returns jsonb [plpgsql, volatile, set search_path=public, pg_temp]:
declare
    v_staged  staging_imports%rowtype;
begin
    if nullif(btrim(p_reason), '') is null then
        raise exception 'a reason is required to reject a batch'
            using errcode = 'invalid_parameter_value';
    end if;
    perform fn_projects_import_lock(p_tenant_id);
    select * into v_staged from staging_imports
     where tenant_id = p_tenant_id and batch_id = p_batch_id
       for update;
    if not found then
        raise exception 'no staged batch % for tenant %', p_batch_id, p_tenant_id
            using errcode = 'no_data_found';
    end if;
    if v_staged.batch_state <> 'held' then
        raise exception 'batch % is %, not held', p_batch_id, v_staged.batch_state
            using errcode = 'object_not_in_prerequisite_state';
    end if;
    update staging_imports set batch_state = 'rejected'
     where tenant_id = p_tenant_id and id = v_staged.id;
    insert into import_batch_decisions (tenant_id, staging_id, batch_id, decision, actor,
                                        reason)
    values (p_tenant_id, v_staged.id, p_batch_id, 'rejected',
            coalesce(nullif(btrim(p_actor), ''), 'unknown'), left(btrim(p_reason), 500));
    return jsonb_build_object('batch_id', p_batch_id, 'staging_id', v_staged.id,
                              'batch_state', 'rejected');
end

function public.fn_import_batch_resent(p_tenant_id text, p_answer jsonb) returns jsonb [sql, stable, set search_path=public, pg_temp]:
select case
               when p_answer ->> 'outcome' <> 'replayed' or s.batch_state is null
                    or s.batch_state not in ('held', 'rejected') then p_answer
               when s.batch_state = 'held' then jsonb_build_object(
                   'outcome', 'held', 'replayed', true, 'batch_id', s.batch_id,
                   'staging_id', s.id,
                   'metrics', coalesce(s.validation #> '{held,metrics}', '{}'::jsonb)
                              || jsonb_build_object('staging_id', s.id),
                   'audit', s.validation #> '{held,audit}')
               else jsonb_build_object(
                   'outcome', 'batch_rejected', 'batch_id', s.batch_id, 'staging_id', s.id,
                   'reason', (select d.reason from import_batch_decisions d
                               where d.tenant_id = s.tenant_id and d.staging_id = s.id
                                 and d.decision = 'rejected'
                               order by d.id desc limit 1))
           end
      from (select 1) one
      left join staging_imports s
        on s.tenant_id = p_tenant_id and s.id = (p_answer ->> 'staging_id')::uuid

function public.fn_import_batch_state(p_tenant_id text, p_staging_id uuid) returns text [sql, stable, security definer, set search_path=public, pg_temp]:
select s.batch_state from staging_imports s
     where s.tenant_id = p_tenant_id and s.id = p_staging_id

function public.fn_import_get(p_id bigint) returns TABLE(id bigint, tenant_id text, received_at timestamp with time zone, request_batch_id text, batch_id uuid, source text, status integer, error_code text, rows integer, inserted_projects integer, updated_projects integer, unchanged_projects integer, org_memberships_upserted integer, user_memberships_upserted integer, anomalies_count integer, parse_ms numeric, merge_ms numeric, correlation_id uuid, replayed boolean, staging_id uuid, bytes bigint, violations_total integer, violations_summary jsonb, staged_at timestamp with time zone, staged_rows integer, staged_correlation_id uuid, staged_metrics jsonb, reruns jsonb) [plpgsql, stable, security definer, set search_path=public, pg_temp]:
#variable_conflict use_column
begin
    perform public.fn_require_operator();
    return query
        select r.id, r.tenant_id, r.created_at, r.request_batch_id, r.batch_id, r.source,
               r.status, r.error_code, r.rows, r.inserted_projects, r.updated_projects,
               r.unchanged_projects, r.org_memberships_upserted, r.user_memberships_upserted,
               r.anomalies_count, r.parse_ms, r.merge_ms, r.correlation_id, r.replayed,
               r.staging_id, r.bytes, r.violations_total, r.violations_summary,
               s.created_at, s.row_count, s.correlation_id, s.validation -> 'metrics',
               coalesce(s.validation -> 'reruns', '[]'::jsonb)
          from public.import_requests r
          left join public.staging_imports s
            on s.tenant_id = r.tenant_id and s.batch_id = r.batch_id
         where r.id = p_id;
    if not found then
        raise exception 'no import request with id %', p_id using errcode = 'no_data_found';
    end if;
end

function public.fn_import_problem_rollups_apply(p_delta import_problem_rollups[]) returns void [plpgsql, volatile, security definer, set search_path=public, pg_temp]:
begin
    insert into public.import_problem_rollups as r
           (tenant_id, anomaly_type, severity, status, clock, hour, problems)
    select d.tenant_id, d.anomaly_type, d.severity, d.status, d.clock, d.hour,
           sum(d.problems)
      from unnest(p_delta) d
     group by 1, 2, 3, 4, 5, 6
    having sum(d.problems) <> 0
     order by 1, 2, 3, 4, 5, 6
    on conflict (tenant_id, anomaly_type, severity, status, clock, hour)
    do update set problems = r.problems + excluded.problems;

    if exists (select 1 from unnest(p_delta) d where d.problems < 0) then
        delete from public.import_problem_rollups r
         where r.problems = 0
           and (r.tenant_id, r.anomaly_type, r.severity, r.status, r.clock, r.hour) in
               (select d.tenant_id, d.anomaly_type, d.severity, d.status, d.clock, d.hour
                  from unnest(p_delta) d where d.problems < 0);
    end if;
end

function public.fn_import_problem_rollups_trigger() returns trigger [plpgsql, volatile, security definer, set search_path=public, pg_temp]:
declare
    v_delta public.import_problem_rollups[];
begin
    if tg_op = 'INSERT' then
        select array_agg(row(d.tenant_id, d.anomaly_type, d.severity, d.status, d.clock, d.hour,
                             d.problems)::public.import_problem_rollups)
          into v_delta
          from (select p.tenant_id, p.anomaly_type, p.severity, p.status, c.clock,
                       date_bin('1 hour', c.at, timestamptz '2000-01-01Z') as hour,
                       count(*) as problems
                  from new_rows p
                  cross join lateral (values
                      ('first_seen', p.first_seen_at),
                      ('ack_due', case when p.status = 'open' then p.ack_due_at end),
                      ('resolve_due', p.resolve_due_at),
                      ('overdue', least(case when p.status = 'open' then p.ack_due_at end,
                                        p.resolve_due_at))) c(clock, at)
                 where p.status <> 'resolved' and c.at is not null
                 group by 1, 2, 3, 4, 5, 6) d;
    elsif tg_op = 'DELETE' then
        select array_agg(row(d.tenant_id, d.anomaly_type, d.severity, d.status, d.clock, d.hour,
                             d.problems)::public.import_problem_rollups)
          into v_delta
          from (select p.tenant_id, p.anomaly_type, p.severity, p.status, c.clock,
                       date_bin('1 hour', c.at, timestamptz '2000-01-01Z') as hour,
                       -count(*) as problems
                  from old_rows p
                  cross join lateral (values
                      ('first_seen', p.first_seen_at),
                      ('ack_due', case when p.status = 'open' then p.ack_due_at end),
                      ('resolve_due', p.resolve_due_at),
                      ('overdue', least(case when p.status = 'open' then p.ack_due_at end,
                                        p.resolve_due_at))) c(clock, at)
                 where p.status <> 'resolved' and c.at is not null
                 group by 1, 2, 3, 4, 5, 6) d;
    else
        -- old rows count -1 and new rows +1: a problem whose status, type, severity and
        -- clocks stayed cancels out (aggregated here, so no join of the transition tables)
        select array_agg(row(d.tenant_id, d.anomaly_type, d.severity, d.status, d.clock, d.hour,
                             d.problems)::public.import_problem_rollups)
          into v_delta
          from (select p.tenant_id, p.anomaly_type, p.severity, p.status, c.clock,
                       date_bin('1 hour', c.at, timestamptz '2000-01-01Z') as hour,
                       sum(p.sign) as problems
                  from (select o.tenant_id, o.anomaly_type, o.severity, o.status,
                               o.first_seen_at, o.ack_due_at, o.resolve_due_at, -1 as sign
                          from old_rows o
                        union all
                        select n.tenant_id, n.anomaly_type, n.severity, n.status,
                               n.first_seen_at, n.ack_due_at, n.resolve_due_at, 1
                          from new_rows n) p
                  cross join lateral (values
                      ('first_seen', p.first_seen_at),
                      ('ack_due', case when p.status = 'open' then p.ack_due_at end),
                      ('resolve_due', p.resolve_due_at),
                      ('overdue', least(case when p.status = 'open' then p.ack_due_at end,
                                        p.resolve_due_at))) c(clock, at)
                 where p.status <> 'resolved' and c.at is not null
                 group by 1, 2, 3, 4, 5, 6
                having sum(p.sign) <> 0) d;
    end if;
    if v_delta is not null then
        perform public.fn_import_problem_rollups_apply(v_delta);
    end if;
    return null;
end

function public.fn_import_problems_lock(p_ids bigint[]) returns integer [sql, volatile, set search_path=public, pg_temp]:
select count(*)::integer
      from (select pr.id from public.import_problems pr
             where pr.id = any (p_ids)
             order by pr.id
               for update) locked

function public.fn_import_problems_unlink_anomalies() returns trigger [plpgsql, volatile, set search_path=public, pg_temp]:
begin
    update import_anomalies a
       set problem_id = null
      from deleted_problems d
     where a.tenant_id = d.tenant_id
       and a.problem_id = d.id;
    return null;
end

function public.fn_import_projects_snapshot(p_tenant_id text, p_keys text[]) returns TABLE(project_key text, fields jsonb, members text[]) [sql, stable, set search_path=public, pg_temp]:
select p.stage_application,
           jsonb_build_object(
               'delivery_partner', p.delivery_partner, 'developer_class', p.developer_class,
               'relationship_manager', p.relationship_manager,
               'deployment_specialist', p.deployment_specialist,
               'rm_preferred_username', p.rm_preferred_username,
               'residential', p.residential, 'commercial', p.commercial,
               'essential', p.essential, 'premises_count', p.premises_count,
               'stage_application_created', p.stage_application_created,
               'partner_org', p.partner_org, 'ds_username', p.ds_username,
               'rm_username', p.rm_username),
           array(select m.role || ':' || m.member from vw_project_members m
                  where m.tenant_id = p.tenant_id and m.project_key = p.stage_application
                  order by 1)
      from projects p
     where p.tenant_id = p_tenant_id and p.stage_application = any (p_keys)

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

function public.fn_imports_for_operator(p_tenant text, p_status integer, p_since timestamp with time zone, p_after_created_at timestamp with time zone, p_after_id bigint, p_limit integer, p_batch_state text) returns TABLE(id bigint, tenant_id text, received_at timestamp with time zone, request_batch_id text, batch_id uuid, source text, status integer, error_code text, rows integer, inserted_projects integer, updated_projects integer, unchanged_projects integer, org_memberships_upserted integer, user_memberships_upserted integer, anomalies_count integer, parse_ms numeric, merge_ms numeric, correlation_id uuid, replayed boolean, staging_id uuid, bytes bigint, violations_total integer, batch_state text) [plpgsql, stable]:
#variable_conflict use_column
begin
    perform public.fn_require_operator();
    if p_limit is null or p_limit not between 1 and 1000 then
        raise exception 'p_limit must be from 1 to 1000, got %', coalesce(p_limit::text, 'null')
            using errcode = 'invalid_parameter_value';
    end if;
    if (p_after_created_at is null) <> (p_after_id is null) then
        raise exception 'p_after_created_at and p_after_id go together'
            using errcode = 'invalid_parameter_value';
    end if;
    -- two static queries, so each walks its own index and stops after p_limit rows
    if p_tenant is null then
        return query
            select r.id, r.tenant_id, r.created_at, r.request_batch_id, r.batch_id, r.source,
                   r.status, r.error_code, r.rows, r.inserted_projects, r.updated_projects,
                   r.unchanged_projects, r.org_memberships_upserted,
                   r.user_memberships_upserted, r.anomalies_count, r.parse_ms, r.merge_ms,
                   r.correlation_id, r.replayed, r.staging_id, r.bytes, r.violations_total,
                   public.fn_import_batch_state(r.tenant_id, r.staging_id)
              from public.import_requests r
             where (p_status is null or r.status = p_status)
               and (p_since is null or r.created_at >= p_since)
               and (p_batch_state is null
                    or public.fn_import_batch_state(r.tenant_id, r.staging_id) = p_batch_state)
               and (p_after_created_at is null
                    or (r.created_at, r.id) < (p_after_created_at, p_after_id))
             order by r.created_at desc, r.id desc
             limit p_limit;
    else
        return query
            select r.id, r.tenant_id, r.created_at, r.request_batch_id, r.batch_id, r.source,
                   r.status, r.error_code, r.rows, r.inserted_projects, r.updated_projects,
                   r.unchanged_projects, r.org_memberships_upserted,
                   r.user_memberships_upserted, r.anomalies_count, r.parse_ms, r.merge_ms,
                   r.correlation_id, r.replayed, r.staging_id, r.bytes, r.violations_total,
                   public.fn_import_batch_state(r.tenant_id, r.staging_id)
              from public.import_requests r
             where r.tenant_id = p_tenant
               and (p_status is null or r.status = p_status)
               and (p_since is null or r.created_at >= p_since)
               and (p_batch_state is null
                    or public.fn_import_batch_state(r.tenant_id, r.staging_id) = p_batch_state)
               and (p_after_created_at is null
                    or (r.created_at, r.id) < (p_after_created_at, p_after_id))
             order by r.created_at desc, r.id desc
             limit p_limit;
    end if;
end

function public.fn_is_admin() returns boolean [sql, stable]:
select public.fn_jwt_app_role() = 'admin'
            or coalesce(auth.jwt() ->> 'role', '') = 'service_role'

function public.fn_is_operator() returns boolean [sql, stable]:
select public.fn_jwt_app_role() in ('operator', 'admin')
            or coalesce(auth.jwt() ->> 'role', '') = 'service_role'
            or current_setting('role', true) = 'service_role'

function public.fn_jwt_app_role() returns text [sql, stable]:
select coalesce(auth.jwt() -> 'app_metadata' ->> 'role', '')

function public.fn_privileges_set(p_object text, p_privilege text, VARIADIC p_roles text[]) returns void [plpgsql, volatile, set search_path=public, pg_temp]:
declare
    v_role text;
begin
    execute format('revoke all on %s from public', p_object);
    for v_role in select rolname from pg_roles
                   where rolname in ('anon', 'authenticated', 'service_role')
                   order by rolname loop
        execute format('revoke all on %s from %I', p_object, v_role);
    end loop;
    foreach v_role in array p_roles loop
        if v_role = 'public' then
            execute format('grant %s on %s to public', p_privilege, p_object);
        elsif exists (select 1 from pg_roles where rolname = v_role) then
            execute format('grant %s on %s to %I', p_privilege, p_object, v_role);
        end if;
    end loop;
end

function public.fn_problem_due_times(p_tenant_id text, p_from timestamp with time zone) returns TABLE(ack_due_at timestamp with time zone, resolve_due_at timestamp with time zone) [sql, stable, set search_path=public, pg_temp]:
select public.fn_business_time_add(p_from, 4, t.timezone, t.business_hours_start,
                                       t.business_hours_end, t.business_days),
           public.fn_business_time_add(
               p_from,
               extract(epoch from t.business_hours_end - t.business_hours_start) / 3600,
               t.timezone, t.business_hours_start, t.business_hours_end, t.business_days)
      from public.tenants t
     where t.tenant_id = p_tenant_id

function public.fn_problem_events(p_id bigint) returns SETOF import_problem_events [plpgsql, stable]:
declare
    v_tenant text;
begin
    perform public.fn_require_operator();
    select pr.tenant_id into v_tenant from public.import_problems pr where pr.id = p_id;
    if not found then
        raise exception 'no problem with id %', p_id using errcode = 'no_data_found';
    end if;
    return query
        select e.* from public.import_problem_events e
         where e.tenant_id = v_tenant and e.problem_id = p_id
         order by e.at, e.id;
end

function public.fn_problem_get(p_id bigint) returns SETOF import_problems [plpgsql, stable]:
begin
    perform public.fn_require_operator();
    return query select pr.* from public.import_problems pr where pr.id = p_id;
    if not found then
        raise exception 'no problem with id %', p_id using errcode = 'no_data_found';
    end if;
end

function public.fn_problem_group_set_status(p_tenant_id text, p_anomaly_type text, p_unknown_value text, p_status text, p_note text) returns TABLE(id bigint, tenant_id text, project_key text, status_before text, status text, outcome text, reason text) [plpgsql, volatile, security definer, set search_path=public, pg_temp]:
declare
    v_ids bigint[];
begin
    perform fn_require_operator();
    -- the group's problems; fn_problems_set_status_each locks them up front by id (the
    -- global order, fn_import_problems_lock)
    select coalesce(array_agg(pr.id order by pr.id), '{}') into v_ids
      from import_problems pr
     where pr.tenant_id = p_tenant_id and pr.anomaly_type = p_anomaly_type
       and pr.unknown_value = p_unknown_value;
    if cardinality(v_ids) = 0 then
        raise exception 'tenant % has no % problem with unknown value %',
            coalesce(p_tenant_id, 'null'), coalesce(p_anomaly_type, 'null'),
            coalesce(p_unknown_value, 'null')
            using errcode = 'no_data_found';
    end if;
    return query select * from fn_problems_set_status_each(v_ids, p_status, p_note);
end

function public.fn_problem_groups_for_operator(p_tenant text, p_anomaly_type text[], p_status text[], p_severity text[], p_batch_id uuid[], p_project_key text, p_overdue boolean, p_search text, p_after_last_seen_at timestamp with time zone, p_after_group_id bigint, p_limit integer) returns TABLE(tenant_id text, anomaly_type text, severity text, unknown_value text, problems integer, projects integer, occurrences bigint, first_seen_at timestamp with time zone, last_seen_at timestamp with time zone, ack_due_at timestamp with time zone, resolve_due_at timestamp with time zone, overdue integer, statuses jsonb, group_id bigint, first_batch_id uuid) [plpgsql, stable, set search_path=public, pg_temp]:
begin
    perform fn_require_operator();
    perform fn_problems_check_filters(p_anomaly_type, p_status, p_severity, p_limit);
    if (p_after_last_seen_at is null) <> (p_after_group_id is null) then
        raise exception 'the cursor needs both p_after_last_seen_at and p_after_group_id'
            using errcode = 'invalid_parameter_value';
    end if;

    return query
        with matched as (
            select pr.*
              from fn_problems_for_operator(p_tenant, p_anomaly_type, p_status, p_severity,
                                            p_batch_id, p_project_key, p_overdue, p_search,
                                            null, null, null) pr
        ), grouped as (
            select m.tenant_id, m.anomaly_type, max(m.severity) as severity, m.unknown_value,
                   count(*)::integer as problems,
                   count(distinct m.project_key)::integer as projects,
                   sum(m.occurrences)::bigint as occurrences,
                   min(m.first_seen_at) as first_seen_at, max(m.last_seen_at) as last_seen_at,
                   min(m.ack_due_at) filter (where m.status = 'open') as ack_due_at,
                   min(m.resolve_due_at) filter (where m.status <> 'resolved')
                       as resolve_due_at,
                   count(*) filter (
                       where (m.status = 'open' and m.ack_due_at < now())
                          or (m.status <> 'resolved' and m.resolve_due_at < now()))::integer
                       as overdue,
                   jsonb_build_object(
                       'open', count(*) filter (where m.status = 'open'),
                       'acknowledged', count(*) filter (where m.status = 'acknowledged'),
                       'resolved', count(*) filter (where m.status = 'resolved'))
                       as statuses,
                   min(m.id) as group_id,
                   array_agg(m.id) as ids
              from matched m
             group by m.tenant_id, m.anomaly_type, m.unknown_value
            having p_after_last_seen_at is null
                or (max(m.last_seen_at), min(m.id)) < (p_after_last_seen_at, p_after_group_id)
             order by max(m.last_seen_at) desc, min(m.id) desc
             limit p_limit
        )
        select g.tenant_id, g.anomaly_type, g.severity, g.unknown_value, g.problems,
               g.projects, g.occurrences, g.first_seen_at, g.last_seen_at, g.ack_due_at,
               g.resolve_due_at, g.overdue, g.statuses, g.group_id,
               (select a.batch_id from import_anomalies a
                 where a.tenant_id = g.tenant_id and a.problem_id = any (g.ids)
                 order by a.created_at, a.id limit 1)
          from grouped g
         order by g.last_seen_at desc, g.group_id desc;
end

function public.fn_problem_metrics() returns TABLE(tenant_id text, anomaly_type text, severity text, open integer, acknowledged integer, overdue integer) [sql, stable, set search_path=public, pg_temp]:
with r as (
        select r.tenant_id, r.anomaly_type, r.severity,
               sum(r.problems) filter (where r.clock = 'first_seen' and r.status = 'open') as o,
               sum(r.problems) filter (where r.clock = 'first_seen'
                                         and r.status = 'acknowledged') as a,
               sum(r.problems) filter (where r.clock = 'overdue'
                                         and r.hour < date_bin('1 hour', now(),
                                                               timestamptz '2000-01-01Z')) as d
          from public.import_problem_rollups r
         group by 1, 2, 3
    ), edge as (
        select pr.tenant_id, pr.anomaly_type, pr.severity, count(*) as d
          from public.import_problems pr
         where pr.status <> 'resolved'
           and least(case when pr.status = 'open' then pr.ack_due_at end, pr.resolve_due_at)
               >= date_bin('1 hour', now(), timestamptz '2000-01-01Z')
           and least(case when pr.status = 'open' then pr.ack_due_at end, pr.resolve_due_at)
               <= now()
         group by 1, 2, 3
    )
    select r.tenant_id, r.anomaly_type, r.severity, coalesce(r.o, 0)::integer,
           coalesce(r.a, 0)::integer, (coalesce(r.d, 0) + coalesce(e.d, 0))::integer
      from r
      left join edge e on e.tenant_id = r.tenant_id and e.anomaly_type = r.anomaly_type
                      and e.severity = r.severity
     where coalesce(r.o, 0) + coalesce(r.a, 0) > 0

function public.fn_problem_occurrences(p_id bigint, p_limit integer) returns SETOF import_anomalies [plpgsql, stable]:
declare
    v_tenant text;
begin
    perform public.fn_require_operator();
    perform public.fn_problems_check_filters(null, null, null, p_limit);
    select pr.tenant_id into v_tenant from public.import_problems pr where pr.id = p_id;
    if not found then
        raise exception 'no problem with id %', p_id using errcode = 'no_data_found';
    end if;
    return query
        select a.* from public.import_anomalies a
         where a.tenant_id = v_tenant and a.problem_id = p_id
         order by a.created_at desc, a.id desc
         limit p_limit;
end

function public.fn_problem_set_status(p_id bigint, p_status text, p_note text) returns SETOF import_problems [plpgsql, volatile, security definer, set search_path=public, pg_temp]:
declare
    v_problem  import_problems%rowtype;
    v_actor    text := coalesce(nullif(auth.jwt() ->> 'sub', ''), 'unknown');
    v_note     text := nullif(btrim(p_note), '');
begin
    perform fn_require_operator();
    if p_status is null or p_status not in ('acknowledged', 'resolved') then
        raise exception 'status must be acknowledged or resolved, got %',
            coalesce(p_status, 'null')
            using errcode = 'invalid_parameter_value';
    end if;
    if char_length(v_note) > 2000 then
        raise exception 'a note is at most 2000 characters' using errcode = 'invalid_parameter_value';
    end if;

    select * into v_problem from import_problems pr where pr.id = p_id for update;
    if not found then
        raise exception 'no problem with id %', p_id using errcode = 'no_data_found';
    end if;
    if v_problem.status = 'resolved' and p_status = 'acknowledged' then
        raise exception 'problem % is already resolved; it cannot be acknowledged', p_id
            using errcode = 'object_not_in_prerequisite_state';
    end if;

    if v_problem.status <> p_status and v_problem.status <> 'resolved' then
        update import_problems pr
           set status = p_status,
               acknowledged_at = case when p_status = 'acknowledged' then now()
                                      else pr.acknowledged_at end,
               acknowledged_by = case when p_status = 'acknowledged' then v_actor
                                      else pr.acknowledged_by end,
               resolved_at = case when p_status = 'resolved' then now() end,
               resolved_by = case when p_status = 'resolved' then v_actor end,
               resolution = case when p_status = 'resolved' then 'manual' end,
               note = coalesce(v_note, pr.note)
         where pr.tenant_id = v_problem.tenant_id and pr.id = p_id
        returning * into v_problem;

        insert into import_problem_events (tenant_id, problem_id, actor, action, resolution,
                                           note)
        values (v_problem.tenant_id, p_id, v_actor, p_status, v_problem.resolution, v_note);

        update import_anomalies a
           set status = v_problem.status,
               acknowledged_at = v_problem.acknowledged_at,
               acknowledged_by = v_problem.acknowledged_by,
               resolved_at = v_problem.resolved_at
         where a.tenant_id = v_problem.tenant_id and a.problem_id = p_id;
    end if;

    return next v_problem;
end

function public.fn_problem_stats(p_window_hours integer) returns TABLE(tenant_id text, anomaly_type text, severity text, open_problems bigint, acknowledged_problems bigint, new_problems bigint, occurrences bigint, overdue_ack bigint, overdue_resolve bigint) [plpgsql, stable, set search_path=public, pg_temp]:
#variable_conflict use_column
declare
    v_since timestamptz;
    v_edge  timestamptz;
    v_now   timestamptz := now();
    v_hour  timestamptz;
begin
    perform public.fn_require_operator();
    perform public.fn_anomalies_check_window(p_window_hours);
    v_since := v_now - make_interval(hours => p_window_hours);
    v_edge := date_bin('1 hour', v_since, timestamptz '2000-01-01Z');
    v_hour := date_bin('1 hour', v_now, timestamptz '2000-01-01Z');
    return query
        with r as (
            select r.tenant_id, r.anomaly_type, r.severity,
                   sum(r.problems) filter (where r.clock = 'first_seen' and r.status = 'open')
                       as open_problems,
                   sum(r.problems) filter (where r.clock = 'first_seen'
                                             and r.status = 'acknowledged')
                       as acknowledged_problems,
                   sum(r.problems) filter (where r.clock = 'first_seen' and r.hour > v_edge)
                       as new_problems,
                   sum(r.problems) filter (where r.clock = 'ack_due' and r.hour < v_hour)
                       as overdue_ack,
                   sum(r.problems) filter (where r.clock = 'resolve_due' and r.hour < v_hour)
                       as overdue_resolve
              from public.import_problem_rollups r
             group by 1, 2, 3
        ), edge as (
            select pr.tenant_id, pr.anomaly_type, pr.severity, count(*) as new_problems,
                   0::bigint as overdue_ack, 0::bigint as overdue_resolve
              from public.import_problems pr
             where pr.status <> 'resolved' and pr.first_seen_at >= v_since
               and pr.first_seen_at < v_edge + interval '1 hour'
             group by 1, 2, 3
            union all
            select pr.tenant_id, pr.anomaly_type, pr.severity, 0, count(*), 0
              from public.import_problems pr
             where pr.status = 'open' and pr.ack_due_at >= v_hour and pr.ack_due_at < v_now
             group by 1, 2, 3
            union all
            select pr.tenant_id, pr.anomaly_type, pr.severity, 0, 0, count(*)
              from public.import_problems pr
             where pr.status <> 'resolved' and pr.resolve_due_at >= v_hour
               and pr.resolve_due_at < v_now
             group by 1, 2, 3
        ), p as (
            select r.tenant_id, r.anomaly_type, r.severity,
                   coalesce(r.open_problems, 0) as open_problems,
                   coalesce(r.acknowledged_problems, 0) as acknowledged_problems,
                   coalesce(r.new_problems, 0)
                       + coalesce((select sum(e.new_problems) from edge e
                                    where e.tenant_id = r.tenant_id
                                      and e.anomaly_type = r.anomaly_type
                                      and e.severity = r.severity), 0) as new_problems,
                   coalesce(r.overdue_ack, 0)
                       + coalesce((select sum(e.overdue_ack) from edge e
                                    where e.tenant_id = r.tenant_id
                                      and e.anomaly_type = r.anomaly_type
                                      and e.severity = r.severity), 0) as overdue_ack,
                   coalesce(r.overdue_resolve, 0)
                       + coalesce((select sum(e.overdue_resolve) from edge e
                                    where e.tenant_id = r.tenant_id
                                      and e.anomaly_type = r.anomaly_type
                                      and e.severity = r.severity), 0) as overdue_resolve
              from r
             where coalesce(r.open_problems, 0) + coalesce(r.acknowledged_problems, 0) > 0
        ), o as (
            select ar.tenant_id, ar.anomaly_type, ar.severity,
                   sum(ar.occurrences) as occurrences
              from public.import_anomaly_rollups ar
             where ar.created_at >= v_since
             group by 1, 2, 3
            having sum(ar.occurrences) > 0
        )
        select coalesce(p.tenant_id, o.tenant_id), coalesce(p.anomaly_type, o.anomaly_type),
               coalesce(p.severity, o.severity),
               coalesce(p.open_problems, 0)::bigint,
               coalesce(p.acknowledged_problems, 0)::bigint,
               coalesce(p.new_problems, 0)::bigint,
               coalesce(o.occurrences, 0)::bigint,
               coalesce(p.overdue_ack, 0)::bigint,
               coalesce(p.overdue_resolve, 0)::bigint
          from p
          full join o on o.tenant_id = p.tenant_id and o.anomaly_type = p.anomaly_type
                     and o.severity = p.severity
         order by 1, 2, 3;
end

function public.fn_problems_check_filters(p_anomaly_type text[], p_status text[], p_severity text[], p_limit integer) returns void [plpgsql, immutable]:
declare
    v_bad text;
begin
    select x into v_bad from unnest(p_anomaly_type) x
     where x is null or x not in ('UNKNOWN_DELIVERY_PARTNER', 'UNKNOWN_DS', 'UNKNOWN_RM')
     limit 1;
    if found then
        raise exception 'unknown anomaly_type %', coalesce(v_bad, 'null')
            using errcode = 'invalid_parameter_value';
    end if;
    select x into v_bad from unnest(p_status) x
     where x is null or x not in ('open', 'acknowledged', 'resolved') limit 1;
    if found then
        raise exception 'unknown status %', coalesce(v_bad, 'null')
            using errcode = 'invalid_parameter_value';
    end if;
    select x into v_bad from unnest(p_severity) x
     where x is null or x not in ('error', 'warning', 'info') limit 1;
    if found then
        raise exception 'unknown severity %', coalesce(v_bad, 'null')
            using errcode = 'invalid_parameter_value';
    end if;
    if p_limit is not null and p_limit < 1 then
        raise exception 'p_limit must be at least 1 (or null for no limit), got %', p_limit
            using errcode = 'invalid_parameter_value';
    end if;
end

function public.fn_problems_for_operator(p_tenant text, p_anomaly_type text[], p_status text[], p_severity text[], p_batch_id uuid[], p_project_key text, p_overdue boolean, p_search text, p_after_last_seen_at timestamp with time zone, p_after_id bigint, p_limit integer) returns SETOF import_problems [plpgsql, stable]:
declare
    v_search text := lower(nullif(btrim(p_search), ''));
begin
    perform public.fn_require_operator();
    perform public.fn_problems_check_filters(p_anomaly_type, p_status, p_severity, p_limit);
    if (p_after_last_seen_at is null) <> (p_after_id is null) then
        raise exception 'the cursor needs both p_after_last_seen_at and p_after_id'
            using errcode = 'invalid_parameter_value';
    end if;

    return query
        select pr.* from public.import_problems pr
         where (p_tenant is null or pr.tenant_id = p_tenant)
           and (p_anomaly_type is null or pr.anomaly_type = any (p_anomaly_type))
           and (p_status is null or pr.status = any (p_status))
           and (p_severity is null or pr.severity = any (p_severity))
           and (p_project_key is null or pr.project_key = p_project_key)
           and (p_batch_id is null
                or exists (select 1 from public.import_anomalies a
                            where a.tenant_id = pr.tenant_id and a.problem_id = pr.id
                              and a.batch_id = any (p_batch_id)))
           and (p_overdue is null
                or p_overdue = coalesce((pr.status = 'open' and pr.ack_due_at < now())
                                        or (pr.status <> 'resolved'
                                            and pr.resolve_due_at < now()), false))
           and (v_search is null
                or strpos(lower(pr.project_key), v_search) > 0
                or strpos(lower(pr.unknown_value), v_search) > 0)
           and (p_after_last_seen_at is null
                or (pr.last_seen_at, pr.id) < (p_after_last_seen_at, p_after_id))
         order by pr.last_seen_at desc, pr.id desc
         limit p_limit;
end

function public.fn_problems_set_status_each(p_ids bigint[], p_status text, p_note text) returns TABLE(id bigint, tenant_id text, project_key text, status_before text, status text, outcome text, reason text) [plpgsql, volatile, security definer, set search_path=public, pg_temp]:
declare
    v_asked    record;
    v_problem  import_problems%rowtype;
begin
    perform fn_require_operator();
    if p_status is null or p_status not in ('acknowledged', 'resolved') then
        raise exception 'status must be acknowledged or resolved, got %',
            coalesce(p_status, 'null')
            using errcode = 'invalid_parameter_value';
    end if;
    if char_length(p_note) > 2000 then
        raise exception 'a note is at most 2000 characters'
            using errcode = 'invalid_parameter_value';
    end if;
    if cardinality(p_ids) > 10000 then
        raise exception 'at most 10000 problems at a time, got %', cardinality(p_ids)
            using errcode = 'invalid_parameter_value';
    end if;

    -- every problem this step may change, locked up front in the global order (by id)
    perform fn_import_problems_lock(p_ids);

    for v_asked in
        select u.id from unnest(p_ids) with ordinality as u(id, n)
         group by u.id order by min(u.n)
    loop
        select * into v_problem from import_problems pr where pr.id = v_asked.id;
        id := v_asked.id;
        if not found then
            tenant_id := null; project_key := null; status_before := null; status := null;
            outcome := 'skipped';
            reason := 'no problem with this id';
            return next;
            continue;
        end if;
        tenant_id := v_problem.tenant_id;
        project_key := v_problem.project_key;
        status_before := v_problem.status;
        if v_problem.status = 'resolved' then
            status := v_problem.status;
            outcome := 'skipped';
            reason := 'already resolved';
        elsif v_problem.status = p_status then
            status := v_problem.status;
            outcome := 'skipped';
            reason := 'already ' || p_status;
        else
            select pr.status into status
              from fn_problem_set_status(v_problem.id, p_status, p_note) pr;
            outcome := p_status;
            reason := null;
        end if;
        return next;
    end loop;
end

function public.fn_projects_delete_memberships() returns trigger [plpgsql, volatile, set search_path=public, pg_temp]:
begin
    delete from project_org_memberships m
     using deleted_projects d
     where m.tenant_id = d.tenant_id and m.stage_application = d.stage_application;
    delete from project_user_memberships m
     using deleted_projects d
     where m.tenant_id = d.tenant_id and m.stage_application = d.stage_application;
    return null;
end

function public.fn_projects_import_lock(p_tenant_id text) returns void [sql, volatile]:
select pg_advisory_xact_lock(public.fn_projects_import_lock_key(p_tenant_id))

function public.fn_projects_import_lock_key(p_tenant_id text) returns bigint [sql, immutable]:
select hashtextextended('projects-import:' || p_tenant_id, 7301)

function public.fn_projects_import_merge(tenant_id text, source text, batch_id uuid, rows jsonb, correlation_id uuid) returns jsonb [plpgsql, volatile, set search_path=public, pg_temp]:
declare
    v_columns  record;
begin
    if fn_projects_import_merge.rows is null
       or jsonb_typeof(fn_projects_import_merge.rows) <> 'array' then
        raise exception 'fn_projects_import_merge: rows must be a JSON array'
            using errcode = '22023';
    end if;
    select coalesce(array_agg(e.r ->> 'stage_application' order by e.ord), '{}')
               as stage_application,
           coalesce(array_agg(e.r ->> 'delivery_partner' order by e.ord), '{}')
               as delivery_partner,
           coalesce(array_agg(e.r ->> 'developer_class' order by e.ord), '{}')
               as developer_class,
           coalesce(array_agg(e.r ->> 'relationship_manager' order by e.ord), '{}')
               as relationship_manager,
           coalesce(array_agg(e.r ->> 'deployment_specialist' order by e.ord), '{}')
               as deployment_specialist,
           coalesce(array_agg(e.r ->> 'rm_preferred_username' order by e.ord), '{}')
               as rm_preferred_username,
           coalesce(array_agg(nullif(btrim(e.r ->> 'residential'), '')::integer
                              order by e.ord), '{}') as residential,
           coalesce(array_agg(nullif(btrim(e.r ->> 'commercial'), '')::integer
                              order by e.ord), '{}') as commercial,
           coalesce(array_agg(nullif(btrim(e.r ->> 'essential'), '')::integer
                              order by e.ord), '{}') as essential,
           coalesce(array_agg(nullif(btrim(e.r ->> 'premises_count'), '')::integer
                              order by e.ord), '{}') as premises_count,
           coalesce(array_agg(e.r ->> 'stage_application_created' order by e.ord), '{}')
               as stage_application_created,
           coalesce(array_agg(left(e.r::text, 500) order by e.ord), '{}') as excerpt
      into v_columns
      from jsonb_array_elements(fn_projects_import_merge.rows) with ordinality as e(r, ord);

    return fn_projects_import_merge_columns(
        fn_projects_import_merge.tenant_id, fn_projects_import_merge.source,
        fn_projects_import_merge.batch_id, fn_projects_import_merge.correlation_id,
        v_columns.stage_application, v_columns.delivery_partner, v_columns.developer_class,
        v_columns.relationship_manager, v_columns.deployment_specialist,
        v_columns.rm_preferred_username, v_columns.residential, v_columns.commercial,
        v_columns.essential, v_columns.premises_count, v_columns.stage_application_created,
        v_columns.excerpt);
end

function public.fn_projects_import_merge_columns(p_tenant_id text, p_source text, p_batch_id uuid, p_correlation_id uuid, p_stage_application text[], p_delivery_partner text[], p_developer_class text[], p_relationship_manager text[], p_deployment_specialist text[], p_rm_preferred_username text[], p_residential integer[], p_commercial integer[], p_essential integer[], p_premises_count integer[], p_stage_application_created text[], p_excerpt text[]) returns jsonb [plpgsql, volatile, set search_path=public, pg_temp]:
declare
    v_size         integer := cardinality(p_stage_application);
    v_staging_id   uuid;
    v_first_merge  boolean := false;
    v_rows         integer;
    v_projects     record;
    v_sync         jsonb;
    v_misses       record;
    v_resolved     integer;
    v_metrics      jsonb;
begin
    if v_size is null then
        raise exception 'fn_projects_import_merge_columns: stage_application must be an array'
            using errcode = '22023';
    end if;
    if v_size <> any (array[
            cardinality(p_delivery_partner), cardinality(p_developer_class),
            cardinality(p_relationship_manager), cardinality(p_deployment_specialist),
            cardinality(p_rm_preferred_username), cardinality(p_residential),
            cardinality(p_commercial), cardinality(p_essential), cardinality(p_premises_count),
            cardinality(p_stage_application_created),
            coalesce(cardinality(p_excerpt), v_size)]) is not false then
        raise exception 'fn_projects_import_merge_columns: every column needs % values', v_size
            using errcode = '22023';
    end if;

    perform public.fn_projects_import_lock(p_tenant_id);

    -- A staged batch without memoized metrics is merged for the first time: none of its
    -- misses can have been recorded yet, so the per-miss check is skipped -- unless
    -- occurrences of its batch_id outlived its staged copy (retention keeps anomalies longer;
    -- a retry of a batch it removed is staged again, 0034).
    select id, not (validation ? 'metrics') into v_staging_id, v_first_merge
      from staging_imports
     where tenant_id = p_tenant_id and batch_id = p_batch_id;
    v_first_merge := coalesce(v_first_merge, false)
                     and not exists (select 1 from import_anomalies ia
                                      where ia.tenant_id = p_tenant_id
                                        and ia.batch_id = p_batch_id);

    v_rows := fn_projects_import_merge_stage(
        p_tenant_id, p_stage_application, p_delivery_partner, p_developer_class,
        p_relationship_manager, p_deployment_specialist, p_rm_preferred_username,
        p_residential, p_commercial, p_essential, p_premises_count,
        p_stage_application_created, p_excerpt);
    v_projects := fn_projects_import_merge_upsert_projects(
        p_tenant_id, p_source, p_batch_id, p_correlation_id);
    v_sync := fn_projects_sync_memberships(p_batch_id);
    v_misses := fn_projects_import_merge_find_misses(p_tenant_id, p_batch_id, v_first_merge);
    perform fn_import_batch_problems_lock(p_tenant_id);  -- in id order, before any write
    if v_misses.o_fresh > 0 then
        perform fn_projects_import_merge_upsert_problems(p_tenant_id, p_batch_id);
        perform fn_projects_import_merge_record_occurrences(
            p_tenant_id, p_batch_id, v_staging_id, p_correlation_id);
    end if;
    v_resolved := fn_projects_import_merge_resolve_fixed(p_tenant_id);

    v_metrics := jsonb_build_object(
        'rows', v_rows,
        'inserted_projects', v_projects.o_inserted,
        'updated_projects', v_projects.o_updated,
        'unchanged_projects', v_rows - v_projects.o_inserted - v_projects.o_updated,
        'org_memberships_upserted', (v_sync ->> 'org_added')::integer,
        'user_memberships_upserted', (v_sync ->> 'user_added')::integer,
        'memberships_ended', (v_sync ->> 'org_ended')::integer
                             + (v_sync ->> 'user_ended')::integer,
        'anomalies_count', v_misses.o_misses,
        'anomalies_resolved', v_resolved,
        'staging_id', v_staging_id);
    perform fn_projects_import_merge_memoize(p_tenant_id, v_staging_id, p_correlation_id,
                                             v_metrics);
    return v_metrics;
end

function public.fn_projects_import_merge_find_misses(p_tenant_id text, p_batch_id uuid, p_first_merge boolean, OUT o_misses integer, OUT o_fresh integer) returns record [plpgsql, volatile, set search_path=public, pg_temp]:
declare
    v_anomaly_ids regclass := pg_get_serial_sequence('public.import_anomalies', 'id');
begin
    create temp table if not exists pg_temp.import_batch_misses (
        row_index      integer,
        project_key    text,
        anomaly_type   text,
        severity       text,
        excerpt        text,
        unknown_value  text,
        unknown_key    text,
        fresh          boolean,
        reopened       boolean,
        anomaly_id     bigint,
        problem_id     bigint,
        status         text,
        acknowledged_at timestamptz,
        acknowledged_by text
    ) on commit drop;
    truncate pg_temp.import_batch_misses;

    -- a fresh miss draws its anomaly id here, in the order of the rows
    insert into pg_temp.import_batch_misses (row_index, project_key, anomaly_type, severity,
                                             excerpt, unknown_value, unknown_key, fresh,
                                             anomaly_id)
    select f.row_index, f.project_key, f.anomaly_type, f.severity, f.excerpt, f.unknown_value,
           f.unknown_key, f.fresh, case when f.fresh then nextval(v_anomaly_ids) end
      from (select b.row_index, b.stage_application as project_key, m.anomaly_type,
                   m.severity,
                   coalesce(b.excerpt, left(jsonb_build_object(
                       'stage_application', b.stage_application,
                       'delivery_partner', coalesce(b.delivery_partner, ''),
                       'developer_class', coalesce(b.developer_class, ''),
                       'relationship_manager', coalesce(b.relationship_manager, ''),
                       'deployment_specialist', coalesce(b.deployment_specialist, ''),
                       'rm_preferred_username', coalesce(b.rm_preferred_username, ''),
                       'residential', b.residential, 'commercial', b.commercial,
                       'essential', b.essential, 'premises_count', b.premises_count,
                       'stage_application_created',
                       b.stage_application_created)::text, 500)) as excerpt,
                   m.unknown_value, fn_directory_key(m.unknown_value) as unknown_key,
                   p_first_merge
                   or not exists (select 1 from import_anomalies ia
                                   where ia.tenant_id = p_tenant_id
                                     and ia.batch_id = p_batch_id
                                     and ia.row_index = b.row_index
                                     and ia.anomaly_type = m.anomaly_type) as fresh
              from pg_temp.import_batch b
             cross join lateral fn_import_anomaly_misses(
                    b.delivery_partner, b.deployment_specialist, b.relationship_manager,
                    b.rm_preferred_username, b.partner_org, b.ds_username, b.rm_username) m
             order by b.row_index, m.anomaly_type) f;
    get diagnostics o_misses = row_count;
    select count(*) into o_fresh from pg_temp.import_batch_misses where fresh;
    -- statistics of the columns the later steps join and filter on
    analyze pg_temp.import_batch_misses (project_key, anomaly_type, unknown_key, fresh);
end

function public.fn_projects_import_merge_memoize(p_tenant_id text, p_staging_id uuid, p_correlation_id uuid, p_metrics jsonb) returns void [plpgsql, volatile, set search_path=public, pg_temp]:
begin
    if p_staging_id is not null then
        update staging_imports
           set validation = case
                   when validation ? 'metrics' then
                       jsonb_set(validation, '{reruns}',
                                 coalesce(validation -> 'reruns', '[]'::jsonb)
                                 || jsonb_build_array(p_metrics
                                        || jsonb_build_object('at', now(),
                                                              'correlation_id', p_correlation_id)))
                   else validation || jsonb_build_object('metrics', p_metrics)
               end
         where tenant_id = p_tenant_id and id = p_staging_id;
    end if;
end

function public.fn_projects_import_merge_record_occurrences(p_tenant_id text, p_batch_id uuid, p_staging_id uuid, p_correlation_id uuid) returns void [plpgsql, volatile, set search_path=public, pg_temp]:
begin
    insert into import_anomalies (id, tenant_id, batch_id, staging_id, row_index,
                                  project_key, anomaly_type, severity, payload_excerpt,
                                  correlation_id, problem_id, status, acknowledged_at,
                                  acknowledged_by)
    overriding system value
    select a.anomaly_id, p_tenant_id, p_batch_id, p_staging_id, a.row_index, a.project_key,
           a.anomaly_type, a.severity, a.excerpt, p_correlation_id, a.problem_id, a.status,
           a.acknowledged_at, a.acknowledged_by
      from pg_temp.import_batch_misses a
     where a.fresh;
end

function public.fn_projects_import_merge_resolve_fixed(p_tenant_id text) returns integer [plpgsql, volatile, set search_path=public, pg_temp]:
declare
    v_problem_ids  bigint[];
    v_resolved     integer := 0;
begin
    -- Problems of these projects that this batch no longer shows are fixed.
    with fixed as (
        update import_problems pr
           set status = 'resolved', resolved_at = now(), resolved_by = 'system',
               resolution = case
                   when fn_directory_key(fn_import_anomaly_subject(
                            pr.anomaly_type, b.delivery_partner, b.deployment_specialist,
                            b.relationship_manager, b.rm_preferred_username)) = pr.unknown_key
                   then 'directory_fix' else 'data_fix' end
          from pg_temp.import_batch b
         where pr.tenant_id = p_tenant_id
           and pr.project_key = b.stage_application
           and pr.status <> 'resolved'
           and not exists (select 1 from pg_temp.import_batch_misses a
                            where a.project_key = pr.project_key
                              and a.anomaly_type = pr.anomaly_type
                              and a.unknown_key = pr.unknown_key)
        returning pr.id, pr.resolution
    ), logged as (
        insert into import_problem_events (tenant_id, problem_id, actor, action, resolution)
        select p_tenant_id, f.id, 'system', 'resolved', f.resolution from fixed f
    )
    select coalesce(array_agg(f.id), '{}') into v_problem_ids from fixed f;
    if cardinality(v_problem_ids) > 0 then
        update import_anomalies ia
           set status = 'resolved', resolved_at = now()
         where ia.tenant_id = p_tenant_id and ia.problem_id = any (v_problem_ids)
           and ia.status <> 'resolved';
        get diagnostics v_resolved = row_count;
    end if;

    return v_resolved;
end

function public.fn_projects_import_merge_stage(p_tenant_id text, p_stage_application text[], p_delivery_partner text[], p_developer_class text[], p_relationship_manager text[], p_deployment_specialist text[], p_rm_preferred_username text[], p_residential integer[], p_commercial integer[], p_essential integer[], p_premises_count integer[], p_stage_application_created text[], p_excerpt text[]) returns integer [plpgsql, volatile, set search_path=public, pg_temp]:
declare
    v_rows integer;
begin
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

    -- The columns as rows, then canonical values from today's directories in the same
    -- statement: fn_projects_resolve_canonical_batch looks each distinct value up once.
    insert into pg_temp.import_batch
    with parsed as materialized (
        select (u.ord - 1)::integer as row_index,
               nullif(btrim(u.stage_application), '') as stage_application,
               nullif(btrim(u.delivery_partner), '') as delivery_partner,
               nullif(btrim(u.developer_class), '') as developer_class,
               nullif(btrim(u.relationship_manager), '') as relationship_manager,
               nullif(btrim(u.deployment_specialist), '') as deployment_specialist,
               nullif(btrim(u.rm_preferred_username), '') as rm_preferred_username,
               coalesce(u.residential, 0) as residential,
               coalesce(u.commercial, 0) as commercial,
               coalesce(u.essential, 0) as essential,
               coalesce(u.premises_count, 0) as premises_count,
               nullif(btrim(u.stage_application_created), '')::date
                   as stage_application_created,
               u.excerpt
          from unnest(p_stage_application, p_delivery_partner, p_developer_class,
                      p_relationship_manager, p_deployment_specialist, p_rm_preferred_username,
                      p_residential, p_commercial, p_essential, p_premises_count,
                      p_stage_application_created, p_excerpt)
               with ordinality as u(stage_application, delivery_partner, developer_class,
                                    relationship_manager, deployment_specialist,
                                    rm_preferred_username, residential, commercial, essential,
                                    premises_count, stage_application_created, excerpt, ord)
    )
    select b.row_index, b.stage_application, b.delivery_partner, b.developer_class,
           b.relationship_manager, b.deployment_specialist, b.rm_preferred_username,
           b.residential, b.commercial, b.essential, b.premises_count,
           b.stage_application_created, b.excerpt, c.partner_org, c.ds_username, c.rm_username
      from parsed b
      join fn_projects_resolve_canonical_batch(
               p_tenant_id,
               array(select x.delivery_partner from parsed x order by x.row_index),
               array(select x.deployment_specialist from parsed x order by x.row_index),
               array(select x.relationship_manager from parsed x order by x.row_index),
               array(select x.rm_preferred_username from parsed x order by x.row_index)) c
        on c.ord = b.row_index + 1;

    if exists (select 1 from pg_temp.import_batch where stage_application is null) then
        raise exception 'fn_projects_import_merge: every row needs a stage_application'
            using errcode = '22023';
    end if;
    -- statistics of the column the later steps join on (and the row count): all 16 columns
    -- would cost three times as much
    analyze pg_temp.import_batch (stage_application);

    select count(*) into v_rows from pg_temp.import_batch;
    return v_rows;
end

function public.fn_projects_import_merge_upsert_problems(p_tenant_id text, p_batch_id uuid) returns void [plpgsql, volatile, set search_path=public, pg_temp]:
declare
    v_ack_due      timestamptz;
    v_resolve_due  timestamptz;
    v_problem_ids  bigint[];
begin
    select d.ack_due_at, d.resolve_due_at into v_ack_due, v_resolve_due
      from fn_problem_due_times(p_tenant_id, now()) d;

    -- Each fresh miss is an occurrence of its problem: open, count, or reopen.
    with upserted as (
        insert into import_problems as pr (
            tenant_id, project_key, anomaly_type, severity, unknown_value, unknown_key,
            status, first_seen_at, last_seen_at, occurrences, last_batch_id,
            last_anomaly_id, payload_excerpt, ack_due_at, resolve_due_at)
        select p_tenant_id, a.project_key, a.anomaly_type, a.severity, a.unknown_value,
               a.unknown_key, 'open', now(), now(), 1, p_batch_id, a.anomaly_id, a.excerpt,
               v_ack_due, v_resolve_due
          from pg_temp.import_batch_misses a
         where a.fresh
        on conflict (tenant_id, project_key, anomaly_type, unknown_key) do update
           set severity = excluded.severity,
               unknown_value = excluded.unknown_value,
               last_seen_at = excluded.last_seen_at,
               occurrences = pr.occurrences + 1,
               last_batch_id = excluded.last_batch_id,
               last_anomaly_id = excluded.last_anomaly_id,
               payload_excerpt = excluded.payload_excerpt,
               status = case when pr.status = 'resolved' then 'open' else pr.status end,
               regressed = pr.regressed
                           or (pr.status = 'resolved' and pr.resolution = 'manual'),
               reopened_at = case when pr.status = 'resolved' then excluded.last_seen_at
                                  else pr.reopened_at end,
               resolution = case when pr.status = 'resolved' then null
                                 else pr.resolution end,
               resolved_at = case when pr.status = 'resolved' then null
                                  else pr.resolved_at end,
               resolved_by = case when pr.status = 'resolved' then null
                                  else pr.resolved_by end,
               acknowledged_at = case when pr.status = 'resolved' then null
                                      else pr.acknowledged_at end,
               acknowledged_by = case when pr.status = 'resolved' then null
                                      else pr.acknowledged_by end,
               ack_due_at = case when pr.status = 'resolved' then excluded.ack_due_at
                                 else pr.ack_due_at end,
               resolve_due_at = case when pr.status = 'resolved'
                                     then excluded.resolve_due_at
                                     else pr.resolve_due_at end
        returning pr.id, pr.project_key, pr.anomaly_type, pr.status, pr.acknowledged_at,
                  pr.acknowledged_by, (xmax = 0) as opened,
                  (xmax <> 0 and pr.reopened_at = now()) as reopened
    ), linked as (
        update pg_temp.import_batch_misses a
           set problem_id = u.id, status = u.status, reopened = u.reopened,
               acknowledged_at = u.acknowledged_at, acknowledged_by = u.acknowledged_by
          from upserted u
         where a.fresh and a.project_key = u.project_key
           and a.anomaly_type = u.anomaly_type
        returning u.id, u.opened, u.reopened
    )
    insert into import_problem_events (tenant_id, problem_id, actor, action)
    select p_tenant_id, l.id, 'system', case when l.opened then 'opened' else 'reopened' end
      from linked l
     where l.opened or l.reopened;

    -- The earlier occurrences of a reopened problem follow it back to open.
    v_problem_ids := array(select a.problem_id from pg_temp.import_batch_misses a
                            where a.reopened);
    if cardinality(v_problem_ids) > 0 then
        update import_anomalies ia
           set status = 'open', acknowledged_at = null, acknowledged_by = null,
               resolved_at = null
         where ia.tenant_id = p_tenant_id and ia.problem_id = any (v_problem_ids)
           and ia.status <> 'open';
    end if;
end

function public.fn_projects_import_merge_upsert_projects(p_tenant_id text, p_source text, p_batch_id uuid, p_correlation_id uuid, OUT o_inserted integer, OUT o_updated integer) returns record [plpgsql, volatile, set search_path=public, pg_temp]:
begin
    insert into organizations (tenant_id, name)
    select distinct p_tenant_id, b.partner_org
      from pg_temp.import_batch b
     where b.partner_org is not null
    on conflict do nothing;

    -- Memberships (the one rule, 0011) are synced for the projects this batch adds or whose
    -- canonical values change only: another project's memberships are as the last merge or
    -- backfill left them for the same canonical values. Read before the upsert, one index
    -- probe per row (a lateral lookup with a limit is never planned as a scan of the
    -- tenant's projects, whatever the statistics say).
    perform fn_projects_membership_sync_table();
    insert into pg_temp.membership_sync
    select p_tenant_id, b.stage_application, b.partner_org, b.ds_username, b.rm_username
      from pg_temp.import_batch b
      left join lateral (select true, p.partner_org, p.ds_username, p.rm_username
                           from projects p
                          where p.tenant_id = p_tenant_id
                            and p.stage_application = b.stage_application
                          limit 1) k(known, partner_org, ds_username, rm_username) on true
     where k.known is null
        or (k.partner_org, k.ds_username, k.rm_username)
           is distinct from (b.partner_org, b.ds_username, b.rm_username);

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
      into o_inserted, o_updated
      from upserted;
end

function public.fn_projects_import_stage(p_tenant_id text, p_source text, p_batch_id uuid, p_batch_checksum text, p_checksum_version smallint, p_raw jsonb, p_row_count integer, p_correlation_id uuid, p_validation jsonb) returns jsonb [plpgsql, volatile, set search_path=public, pg_temp]:
declare
    v_staged   staging_imports%rowtype;
    v_tenant   tenants%rowtype;
begin
    if not fn_projects_import_try_lock(p_tenant_id) then
        return jsonb_build_object('outcome', 'busy');
    end if;

    select * into v_tenant from tenants where tenant_id = p_tenant_id;
    if v_tenant.paused_at is not null then
        return jsonb_build_object('outcome', 'paused', 'reason', v_tenant.paused_reason,
                                  'paused_at', v_tenant.paused_at);
    end if;

    select * into v_staged
      from staging_imports
     where tenant_id = p_tenant_id and batch_id = p_batch_id;
    if found and v_staged.batch_checksum = p_batch_checksum then
        return jsonb_build_object(
            'outcome', 'replayed',
            'batch_id', v_staged.batch_id,
            'staging_id', v_staged.id,
            'original_correlation_id', v_staged.correlation_id,
            'metrics', coalesce(v_staged.validation -> 'metrics', '{}'::jsonb)
                       || jsonb_build_object('staging_id', v_staged.id));
    end if;
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
            p_row_count, p_correlation_id, coalesce(p_validation, '{}'::jsonb));
    return null;
end

function public.fn_projects_import_submit(p_tenant_id text, p_source text, p_batch_id uuid, p_batch_checksum text, p_checksum_version smallint, p_raw jsonb, p_rows jsonb, p_correlation_id uuid, p_validation jsonb) returns jsonb [plpgsql, volatile, set search_path=public, pg_temp]:
declare
    v_answer   jsonb;
    v_metrics  jsonb;
    v_before   jsonb;
    v_audit    jsonb;
begin
    v_answer := fn_projects_import_stage(p_tenant_id, p_source, p_batch_id, p_batch_checksum,
                                         p_checksum_version, p_raw, jsonb_array_length(p_rows),
                                         p_correlation_id, p_validation);
    if v_answer is not null then
        return fn_import_batch_resent(p_tenant_id, v_answer);  -- audit hook (0037)
    end if;
    -- audit hook (0037): merge in a savepoint, measure, roll back and hold when over a limit
    v_before := fn_import_audit_before(
        p_tenant_id, array(select r ->> 'stage_application'
                             from jsonb_array_elements(p_rows) r));
    begin
        v_metrics := fn_projects_import_merge(p_tenant_id, p_source, p_batch_id, p_rows,
                                              p_correlation_id);
        v_audit := fn_import_audit_after(p_tenant_id, v_before, v_metrics);
        if (v_audit ->> 'held')::boolean then
            raise exception 'batch held by its audit' using errcode = 'PIHLD';
        end if;
    exception when sqlstate 'PIHLD' then
        return fn_import_batch_hold(p_tenant_id, p_batch_id, v_metrics, v_audit);
    end;
    -- end of audit hook
    return jsonb_build_object('outcome', 'merged', 'batch_id', p_batch_id,
                              'staging_id', v_metrics -> 'staging_id', 'metrics', v_metrics,
                              'audit', v_audit);
end

function public.fn_projects_import_submit_columns(p_tenant_id text, p_source text, p_batch_id uuid, p_batch_checksum text, p_checksum_version smallint, p_raw jsonb, p_correlation_id uuid, p_validation jsonb, p_stage_application text[], p_delivery_partner text[], p_developer_class text[], p_relationship_manager text[], p_deployment_specialist text[], p_rm_preferred_username text[], p_residential integer[], p_commercial integer[], p_essential integer[], p_premises_count integer[], p_stage_application_created text[]) returns jsonb [plpgsql, volatile, set search_path=public, pg_temp]:
declare
    v_answer   jsonb;
    v_metrics  jsonb;
    v_before   jsonb;
    v_audit    jsonb;
begin
    v_answer := fn_projects_import_stage(p_tenant_id, p_source, p_batch_id, p_batch_checksum,
                                         p_checksum_version, p_raw,
                                         coalesce(cardinality(p_stage_application), 0),
                                         p_correlation_id, p_validation);
    if v_answer is not null then
        return fn_import_batch_resent(p_tenant_id, v_answer);  -- audit hook (0037)
    end if;
    -- audit hook (0037): merge in a savepoint, measure, roll back and hold when over a limit
    v_before := fn_import_audit_before(p_tenant_id, p_stage_application);
    begin
        v_metrics := fn_projects_import_merge_columns(
            p_tenant_id, p_source, p_batch_id, p_correlation_id, p_stage_application,
            p_delivery_partner, p_developer_class, p_relationship_manager,
            p_deployment_specialist, p_rm_preferred_username, p_residential, p_commercial,
            p_essential, p_premises_count, p_stage_application_created);
        v_audit := fn_import_audit_after(p_tenant_id, v_before, v_metrics);
        if (v_audit ->> 'held')::boolean then
            raise exception 'batch held by its audit' using errcode = 'PIHLD';
        end if;
    exception when sqlstate 'PIHLD' then
        return fn_import_batch_hold(p_tenant_id, p_batch_id, v_metrics, v_audit);
    end;
    -- end of audit hook
    return jsonb_build_object('outcome', 'merged', 'batch_id', p_batch_id,
                              'staging_id', v_metrics -> 'staging_id', 'metrics', v_metrics,
                              'audit', v_audit);
end

function public.fn_projects_import_try_lock(p_tenant_id text) returns boolean [sql, volatile]:
select pg_try_advisory_xact_lock(public.fn_projects_import_lock_key(p_tenant_id))

function public.fn_projects_membership_backfill(p_tenant_id text) returns jsonb [sql, volatile, set search_path=public, pg_temp]:
select public.fn_projects_membership_backfill(p_tenant_id, null::text[])

function public.fn_projects_membership_backfill(p_tenant_id text, p_project_keys text[]) returns jsonb [plpgsql, volatile, set search_path=public, pg_temp]:
declare
    v_tenant      text;
    v_projects    integer;
    v_sync        jsonb;
    v_resolved    integer;
begin
    if p_tenant_id is not null
       and not exists (select 1 from tenants where tenant_id = p_tenant_id) then
        raise exception 'fn_projects_membership_backfill: unknown tenant %', p_tenant_id
            using errcode = '22023';
    end if;
    if p_project_keys is not null and p_tenant_id is null then
        raise exception 'fn_projects_membership_backfill: project keys need a tenant'
            using errcode = '22023';
    end if;

    for v_tenant in
        select tenant_id from tenants
         where p_tenant_id is null or tenant_id = p_tenant_id
         order by tenant_id
    loop
        perform fn_projects_import_lock(v_tenant);
    end loop;

    v_projects := fn_projects_membership_backfill_canonical(p_tenant_id, p_project_keys);

    insert into organizations (tenant_id, name)
    select distinct p.tenant_id, p.partner_org
      from projects p
     where p.partner_org is not null
       and (p_tenant_id is null or p.tenant_id = p_tenant_id)
       and (p_project_keys is null or p.stage_application = any (p_project_keys))
    on conflict do nothing;

    -- the rows as arrays, not through the temp table membership_sync: the definer
    -- fn_directory_change_apply runs this, and a caller's temp table must not be its input
    select fn_projects_sync_memberships_rows(
               null, array_agg(p.tenant_id), array_agg(p.stage_application),
               array_agg(p.partner_org), array_agg(p.ds_username), array_agg(p.rm_username))
      into v_sync
      from projects p
     where (p_tenant_id is null or p.tenant_id = p_tenant_id)
       and (p_project_keys is null or p.stage_application = any (p_project_keys));

    v_resolved := fn_projects_membership_backfill_resolve(p_tenant_id, p_project_keys);

    return jsonb_build_object(
        'projects_updated', v_projects,
        'org_memberships_added', (v_sync ->> 'org_added')::integer,
        'user_memberships_added', (v_sync ->> 'user_added')::integer,
        'org_memberships_ended', (v_sync ->> 'org_ended')::integer,
        'user_memberships_ended', (v_sync ->> 'user_ended')::integer,
        'memberships_ended', (v_sync ->> 'org_ended')::integer
                             + (v_sync ->> 'user_ended')::integer,
        'anomalies_resolved', v_resolved);
end

function public.fn_projects_membership_backfill_canonical(p_tenant_id text, p_project_keys text[]) returns integer [plpgsql, volatile, set search_path=public, pg_temp]:
declare
    v_tenant    text;
    v_projects  integer;
begin
    v_projects := 0;
    for v_tenant in
        select tenant_id from tenants
         where p_tenant_id is null or tenant_id = p_tenant_id
         order by tenant_id
    loop
        -- the batch rule over the tenant's projects: each distinct value looked up once
        with listed as materialized (
            select row_number() over (order by p.stage_application) as ord,
                   p.stage_application, p.delivery_partner, p.deployment_specialist,
                   p.relationship_manager, p.rm_preferred_username
              from projects p
             where p.tenant_id = v_tenant
               and (p_project_keys is null or p.stage_application = any (p_project_keys))
        ), resolved as (
            select l.stage_application, c.partner_org, c.ds_username, c.rm_username
              from listed l
              join fn_projects_resolve_canonical_batch(
                       v_tenant,
                       array(select x.delivery_partner from listed x order by x.ord),
                       array(select x.deployment_specialist from listed x order by x.ord),
                       array(select x.relationship_manager from listed x order by x.ord),
                       array(select x.rm_preferred_username from listed x order by x.ord)) c
                on c.ord = l.ord
        ), changed as (
            update projects p
               set partner_org = r.partner_org,
                   ds_username = r.ds_username,
                   rm_username = r.rm_username,
                   updated_at = now()
              from resolved r
             where p.tenant_id = v_tenant
               and p.stage_application = r.stage_application
               and (p.partner_org, p.ds_username, p.rm_username)
                   is distinct from (r.partner_org, r.ds_username, r.rm_username)
            returning 1
        )
        select v_projects + count(*) into v_projects from changed;
    end loop;

    return v_projects;
end

function public.fn_projects_membership_backfill_resolve(p_tenant_id text, p_project_keys text[]) returns integer [plpgsql, volatile, set search_path=public, pg_temp]:
declare
    v_resolved  integer;
    v_loose     integer;
begin
    -- The problems and loose occurrences the steps below resolve, locked up front in id order:
    -- an operator's bulk action on them waits, or is waited for, never both. Same conditions
    -- as the updates (only an operator's resolve changes the set meanwhile: it shrinks it).
    perform fn_import_problems_lock(array(
        select pr.id
          from import_problems pr
          join projects p
            on pr.tenant_id = p.tenant_id and pr.project_key = p.stage_application
         where pr.status <> 'resolved'
           and (p_tenant_id is null or p.tenant_id = p_tenant_id)
           and (p_project_keys is null or p.stage_application = any (p_project_keys))
           and not exists (
                select 1
                  from fn_import_anomaly_misses(p.delivery_partner, p.deployment_specialist,
                                                p.relationship_manager, p.rm_preferred_username,
                                                p.partner_org, p.ds_username, p.rm_username) m
                 where m.anomaly_type = pr.anomaly_type
                   and fn_directory_key(m.unknown_value) = pr.unknown_key)));
    perform fn_import_anomalies_lock(array(
        select ia.id
          from import_anomalies ia
          join projects p
            on ia.tenant_id = p.tenant_id and ia.project_key = p.stage_application
         where ia.problem_id is null and ia.status <> 'resolved'
           and (p_tenant_id is null or p.tenant_id = p_tenant_id)
           and (p_project_keys is null or p.stage_application = any (p_project_keys))
           and not fn_import_anomaly_applies(ia.anomaly_type, p)));

    with fixed as (
        update import_problems pr
           set status = 'resolved', resolved_at = now(), resolved_by = 'system',
               resolution = 'directory_fix'
          from projects p
         where pr.tenant_id = p.tenant_id
           and pr.project_key = p.stage_application
           and pr.status <> 'resolved'
           and (p_tenant_id is null or p.tenant_id = p_tenant_id)
           and (p_project_keys is null or p.stage_application = any (p_project_keys))
           and not exists (
                select 1
                  from fn_import_anomaly_misses(p.delivery_partner, p.deployment_specialist,
                                                p.relationship_manager, p.rm_preferred_username,
                                                p.partner_org, p.ds_username, p.rm_username) m
                 where m.anomaly_type = pr.anomaly_type
                   and fn_directory_key(m.unknown_value) = pr.unknown_key)
        returning pr.tenant_id, pr.id
    ), logged as (
        insert into import_problem_events (tenant_id, problem_id, actor, action, resolution)
        select f.tenant_id, f.id, 'system', 'resolved', 'directory_fix' from fixed f
    ), occurrences as (
        update import_anomalies ia
           set status = 'resolved', resolved_at = now()
          from fixed f
         where ia.tenant_id = f.tenant_id and ia.problem_id = f.id
           and ia.status <> 'resolved'
        returning 1
    )
    select count(*) into v_resolved from occurrences;

    with fixed as (
        update import_anomalies ia
           set status = 'resolved', resolved_at = now()
          from projects p
         where ia.tenant_id = p.tenant_id
           and ia.project_key = p.stage_application
           and ia.problem_id is null
           and ia.status <> 'resolved'
           and (p_tenant_id is null or p.tenant_id = p_tenant_id)
           and (p_project_keys is null or p.stage_application = any (p_project_keys))
           and not fn_import_anomaly_applies(ia.anomaly_type, p)
        returning 1
    )
    select count(*) into v_loose from fixed;

    return v_resolved + v_loose;
end

function public.fn_projects_membership_sync_table() returns void [plpgsql, volatile, set search_path=public, pg_temp]:
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

function public.fn_projects_resolve_canonical(p_tenant_id text, p_delivery_partner text, p_deployment_specialist text, p_relationship_manager text, p_rm_preferred_username text) returns TABLE(partner_org text, ds_username text, rm_username text) [sql, stable]:
select c.partner_org, c.ds_username, c.rm_username
      from public.fn_projects_resolve_canonical_batch(
               p_tenant_id, array[p_delivery_partner], array[p_deployment_specialist],
               array[p_relationship_manager], array[p_rm_preferred_username]) c

function public.fn_projects_resolve_canonical_batch(p_tenant_id text, p_delivery_partner text[], p_deployment_specialist text[], p_relationship_manager text[], p_rm_preferred_username text[]) returns TABLE(ord bigint, partner_org text, ds_username text, rm_username text) [sql, stable]:
with given as materialized (
        select u.ord, u.partner, u.specialist, coalesce(u.manager, '') as manager,
               coalesce(u.manager_username, '') as manager_username
          from unnest(p_delivery_partner, p_deployment_specialist, p_relationship_manager,
                      p_rm_preferred_username)
               with ordinality as u(partner, specialist, manager, manager_username, ord)
    ), partners as (
        select d.partner,
               coalesce(
                   (select pn.canonical from public.partner_normalization pn
                     where pn.tenant_id = p_tenant_id and pn.alias_key = d.partner_key),
                   (select min(pn.canonical) from public.partner_normalization pn
                     where pn.tenant_id = p_tenant_id
                       and public.fn_directory_key(pn.canonical) = d.partner_key))
                   as partner_org
          from (select v.partner, public.fn_directory_key(v.partner) as partner_key
                  from (select distinct g.partner from given g
                         where g.partner is not null) v) d
    ), specialists as (
        select v.specialist,
               (select s.preferred_username from public.ds_directory s
                 where s.tenant_id = p_tenant_id and s.active
                   and s.username_key = public.fn_directory_key(v.specialist)) as ds_username
          from (select distinct g.specialist from given g where g.specialist is not null) v
    ), managers as (
        select v.manager, v.manager_username,
               case when public.fn_directory_key(v.manager_username) is not null then
                   (select r.preferred_username from public.rm_directory r
                     where r.tenant_id = p_tenant_id and r.active
                       and r.username_key = public.fn_directory_key(v.manager_username))
               else
                   (select min(r.preferred_username) from public.rm_directory r
                     where r.tenant_id = p_tenant_id and r.active
                       and r.display_key = public.fn_directory_key(v.manager)
                    having count(*) = 1)
               end as rm_username
          from (select distinct g.manager, g.manager_username from given g) v
    )
    select g.ord, p.partner_org, s.ds_username, m.rm_username
      from given g
      left join partners p on p.partner = g.partner
      left join specialists s on s.specialist = g.specialist
      left join managers m on m.manager = g.manager and m.manager_username = g.manager_username

function public.fn_projects_sync_memberships(p_batch_id uuid) returns jsonb [plpgsql, volatile, set search_path=public, pg_temp]:
begin
    return (select public.fn_projects_sync_memberships_rows(
                       p_batch_id, array_agg(s.tenant_id), array_agg(s.stage_application),
                       array_agg(s.partner_org), array_agg(s.ds_username),
                       array_agg(s.rm_username))
              from pg_temp.membership_sync s);
end

function public.fn_projects_sync_memberships_rows(p_batch_id uuid, p_tenant_id text[], p_stage_application text[], p_partner_org text[], p_ds_username text[], p_rm_username text[]) returns jsonb [plpgsql, volatile, set search_path=public, pg_temp, set enable_sort=off, set enable_incremental_sort=off, set enable_seqscan=off, set enable_hashjoin=off, set enable_mergejoin=off, set enable_material=off]:
declare
    v_org_ended   integer;
    v_user_ended  integer;
    v_org_added   integer;
    v_user_added  integer;
begin
    with r as materialized (
        select s.tenant_id, s.stage_application, s.partner_org, a.ended, a.present
          from unnest(p_tenant_id, p_stage_application, p_partner_org)
                   as s(tenant_id, stage_application, partner_org)
         cross join lateral (
                select array_agg(m.id) filter (where m.org_name is distinct from s.partner_org)
                           as ended,
                       coalesce(bool_or(m.org_name = s.partner_org), false) as present
                  from (select m.id, m.org_name from public.project_org_memberships m
                         where m.tenant_id = s.tenant_id
                           and m.stage_application = s.stage_application
                           and m.ended_at is null
                         order by m.tenant_id, m.stage_application, m.role, m.org_name) m) a
    ), ends as materialized (
        select r.tenant_id, e.id from r cross join lateral unnest(r.ended) as e(id)
    ), ended as (
        update public.project_org_memberships m
           set ended_at = now(), ended_batch_id = p_batch_id
          from ends e
         where m.tenant_id = e.tenant_id and m.id = e.id
        returning 1
    ), added as (
        insert into public.project_org_memberships (tenant_id, stage_application, org_name,
                                                    role, batch_id)
        select r.tenant_id, r.stage_application, r.partner_org, 'delivery_partner', p_batch_id
          from r
         where r.partner_org is not null and not r.present
        returning 1
    )
    select (select count(*) from ended), (select count(*) from added)
      into v_org_ended, v_org_added;

    with r as materialized (
        select s.tenant_id, s.stage_application, s.ds_username, s.rm_username, a.ended,
               a.has_ds, a.has_rm
          from unnest(p_tenant_id, p_stage_application, p_ds_username, p_rm_username)
                   as s(tenant_id, stage_application, ds_username, rm_username)
         cross join lateral (
                select array_agg(m.id) filter (
                           where m.username is distinct from
                                 case m.role when 'deployment_specialist' then s.ds_username
                                             else s.rm_username end) as ended,
                       coalesce(bool_or(m.role = 'deployment_specialist'
                                        and m.username = s.ds_username), false) as has_ds,
                       coalesce(bool_or(m.role = 'relationship_manager'
                                        and m.username = s.rm_username), false) as has_rm
                  from (select m.id, m.role, m.username from public.project_user_memberships m
                         where m.tenant_id = s.tenant_id
                           and m.stage_application = s.stage_application
                           and m.ended_at is null
                         order by m.tenant_id, m.stage_application, m.role, m.username) m) a
    ), ends as materialized (
        select r.tenant_id, e.id from r cross join lateral unnest(r.ended) as e(id)
    ), ended as (
        update public.project_user_memberships m
           set ended_at = now(), ended_batch_id = p_batch_id
          from ends e
         where m.tenant_id = e.tenant_id and m.id = e.id
        returning 1
    ), added as (
        insert into public.project_user_memberships (tenant_id, stage_application, username,
                                                     role, batch_id)
        select r.tenant_id, r.stage_application, u.username, u.role, p_batch_id
          from r
         cross join lateral (values ('deployment_specialist', r.ds_username, r.has_ds),
                                    ('relationship_manager', r.rm_username, r.has_rm))
                   as u(role, username, present)
         where u.username is not null and not u.present
        returning 1
    )
    select (select count(*) from ended), (select count(*) from added)
      into v_user_ended, v_user_added;

    return jsonb_build_object('org_ended', v_org_ended, 'user_ended', v_user_ended,
                              'org_added', v_org_added, 'user_added', v_user_added);
end

function public.fn_require_admin() returns void [plpgsql, stable]:
begin
    if not public.fn_is_admin() then
        raise exception 'insufficient_privilege: admin role required'
            using errcode = 'insufficient_privilege',
                  hint = 'directory changes need a user whose app_metadata.role is admin';
    end if;
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

function public.fn_staging_imports_unlink_anomalies() returns trigger [plpgsql, volatile, set search_path=public, pg_temp]:
begin
    update import_anomalies a
       set staging_id = null
      from deleted_staging d
     where a.tenant_id = d.tenant_id
       and a.batch_id = d.batch_id
       and a.staging_id = d.id;
    return null;
end

function public.fn_tenant_audits_for_operator() returns TABLE(tenant_id text, audit jsonb, held_batches integer, oldest_held_at timestamp with time zone) [plpgsql, stable, security definer, set search_path=public, pg_temp]:
#variable_conflict use_column
begin
    perform fn_require_operator();
    return query
        select t.tenant_id, fn_import_audit_limits(t.tenant_id),
               (select count(*)::integer from staging_imports s
                 where s.tenant_id = t.tenant_id and s.batch_state = 'held'),
               (select min(s.created_at) from staging_imports s
                 where s.tenant_id = t.tenant_id and s.batch_state = 'held')
          from tenants t
         order by t.tenant_id;
end

function public.fn_tenant_expected_at(p_now timestamp with time zone, p_tz text, p_schedule time without time zone, p_days integer[]) returns timestamp with time zone [sql, stable]:
select max((d::date + p_schedule) at time zone p_tz)
      from generate_series(((p_now at time zone p_tz)::date - 7)::timestamp,
                           ((p_now at time zone p_tz)::date)::timestamp,
                           interval '1 day') as d
     where extract(isodow from d)::integer = any (p_days)
       and ((d::date + p_schedule) at time zone p_tz) <= p_now

function public.fn_tenant_last_success_at(p_tenant_id text) returns timestamp with time zone [sql, stable, security definer, set search_path=public, pg_temp]:
select greatest(
        (select max(r.created_at) from public.import_requests r
          where r.tenant_id = p_tenant_id and r.status = 200),
        (select max(s.created_at) from public.staging_imports s
          where s.tenant_id = p_tenant_id))
     where session_user = current_user or public.fn_is_operator()

function public.fn_tenant_pause(p_tenant_id text, p_reason text, p_actor text) returns jsonb [plpgsql, volatile, set search_path=public, pg_temp]:
declare
    v_tenant   tenants%rowtype;
    v_changed  boolean := false;
begin
    if nullif(btrim(p_reason), '') is null or char_length(btrim(p_reason)) > 500 then
        raise exception 'a pause needs a reason of 1 to 500 characters'
            using errcode = 'invalid_parameter_value';
    end if;
    if not exists (select 1 from tenants where tenant_id = p_tenant_id) then
        raise exception 'no tenant %', p_tenant_id using errcode = 'no_data_found';
    end if;
    perform fn_projects_import_lock(p_tenant_id);

    update tenants
       set paused_at = now(), paused_reason = btrim(p_reason),
           paused_by = coalesce(nullif(btrim(p_actor), ''), 'system')
     where tenant_id = p_tenant_id and paused_at is null;
    if found then
        v_changed := true;
        insert into tenant_events (tenant_id, action, reason, actor)
        values (p_tenant_id, 'pause', btrim(p_reason),
                coalesce(nullif(btrim(p_actor), ''), 'system'));
    end if;

    select * into v_tenant from tenants where tenant_id = p_tenant_id;
    return jsonb_build_object('tenant_id', p_tenant_id, 'paused', true,
                              'paused_at', v_tenant.paused_at,
                              'paused_reason', v_tenant.paused_reason,
                              'paused_by', v_tenant.paused_by, 'changed', v_changed);
end

function public.fn_tenant_resume(p_tenant_id text, p_actor text) returns jsonb [plpgsql, volatile, set search_path=public, pg_temp]:
declare
    v_changed boolean := false;
begin
    if not exists (select 1 from tenants where tenant_id = p_tenant_id) then
        raise exception 'no tenant %', p_tenant_id using errcode = 'no_data_found';
    end if;
    update tenants
       set paused_at = null, paused_reason = null, paused_by = null
     where tenant_id = p_tenant_id and paused_at is not null;
    if found then
        v_changed := true;
        insert into tenant_events (tenant_id, action, actor)
        values (p_tenant_id, 'resume', coalesce(nullif(btrim(p_actor), ''), 'system'));
    end if;
    return jsonb_build_object('tenant_id', p_tenant_id, 'paused', false, 'changed', v_changed);
end

function public.fn_tenant_secrets_for_operator() returns TABLE(tenant_id text, valid_secrets integer, expiring_secrets integer, next_expiry_at timestamp with time zone, last_rotated_at timestamp with time zone) [plpgsql, stable, security definer, set search_path=public, pg_temp]:
#variable_conflict use_column
begin
    perform public.fn_require_operator();
    return query
        select t.tenant_id,
               (count(s.secret_id)
                    filter (where s.expires_at is null or s.expires_at > now()))::integer,
               (count(s.secret_id) filter (where s.expires_at > now()))::integer,
               min(s.expires_at) filter (where s.expires_at > now()),
               max(s.created_at)
          from public.tenants t
          left join public.tenant_secrets s on s.tenant_id = t.tenant_id
         group by t.tenant_id
         order by t.tenant_id;
end

function public.fn_tenant_set_audit(p_tenant_id text, p_enabled boolean, p_max_ended_share numeric, p_max_anomaly_share numeric, p_max_changed_share numeric, p_min_rows integer) returns jsonb [plpgsql, volatile, set search_path=public, pg_temp]:
begin
    update tenants
       set audit_enabled = coalesce(p_enabled, audit_enabled),
           audit_max_ended_share = coalesce(p_max_ended_share, audit_max_ended_share),
           audit_max_anomaly_share = coalesce(p_max_anomaly_share, audit_max_anomaly_share),
           audit_max_changed_share = coalesce(p_max_changed_share, audit_max_changed_share),
           audit_min_rows = coalesce(p_min_rows, audit_min_rows)
     where tenant_id = p_tenant_id;
    if not found then
        raise exception 'no tenant %', p_tenant_id using errcode = 'no_data_found';
    end if;
    return fn_import_audit_limits(p_tenant_id);
end

function public.fn_tenant_set_paused(p_tenant_id text, p_paused boolean, p_reason text) returns jsonb [plpgsql, volatile, security definer, set search_path=public, pg_temp]:
declare
    v_actor text := coalesce(nullif(btrim(auth.jwt() ->> 'sub'), ''), 'unknown');
begin
    perform fn_require_admin();
    if p_paused is null then
        raise exception 'p_paused must be true or false' using errcode = 'invalid_parameter_value';
    end if;
    if p_paused then
        return fn_tenant_pause(p_tenant_id, p_reason, v_actor);
    end if;
    return fn_tenant_resume(p_tenant_id, v_actor);
end

function public.fn_tenants_status_for_operator() returns TABLE(tenant_id text, timezone text, last_success_at timestamp with time zone, expected_at timestamp with time zone, late boolean, paused boolean, paused_reason text, paused_at timestamp with time zone, paused_by text) [plpgsql, stable]:
#variable_conflict use_column
begin
    perform public.fn_require_operator();
    return query
        select f.tenant_id, f.timezone, f.last_success_at, f.expected_at, f.late, f.paused,
               f.paused_reason, f.paused_at, t.paused_by
          from public.vw_tenant_freshness f
          join public.tenants t using (tenant_id)
         order by f.tenant_id;
end

trigger import_anomalies.import_anomalies_rollups_delete: CREATE TRIGGER import_anomalies_rollups_delete AFTER DELETE ON public.import_anomalies REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION fn_import_anomaly_rollups_trigger()
trigger import_anomalies.import_anomalies_rollups_insert: CREATE TRIGGER import_anomalies_rollups_insert AFTER INSERT ON public.import_anomalies REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION fn_import_anomaly_rollups_trigger()
trigger import_anomalies.import_anomalies_rollups_update: CREATE TRIGGER import_anomalies_rollups_update AFTER UPDATE ON public.import_anomalies REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION fn_import_anomaly_rollups_trigger()
trigger import_problems.import_problems_rollups_delete: CREATE TRIGGER import_problems_rollups_delete AFTER DELETE ON public.import_problems REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION fn_import_problem_rollups_trigger()
trigger import_problems.import_problems_rollups_insert: CREATE TRIGGER import_problems_rollups_insert AFTER INSERT ON public.import_problems REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION fn_import_problem_rollups_trigger()
trigger import_problems.import_problems_rollups_update: CREATE TRIGGER import_problems_rollups_update AFTER UPDATE ON public.import_problems REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION fn_import_problem_rollups_trigger()
trigger import_problems.import_problems_unlink_anomalies: CREATE TRIGGER import_problems_unlink_anomalies AFTER DELETE ON public.import_problems REFERENCING OLD TABLE AS deleted_problems FOR EACH STATEMENT EXECUTE FUNCTION fn_import_problems_unlink_anomalies()
trigger projects.projects_delete_memberships: CREATE TRIGGER projects_delete_memberships AFTER DELETE ON public.projects REFERENCING OLD TABLE AS deleted_projects FOR EACH STATEMENT EXECUTE FUNCTION fn_projects_delete_memberships()
trigger staging_imports.staging_imports_unlink_anomalies: CREATE TRIGGER staging_imports_unlink_anomalies AFTER DELETE ON public.staging_imports REFERENCING OLD TABLE AS deleted_staging FOR EACH STATEMENT EXECUTE FUNCTION fn_staging_imports_unlink_anomalies()
policy public.alert_deliveries.operators_read: permissive for select to authenticated using (SELECT fn_is_operator() AS fn_is_operator)
policy public.alert_deliveries.service_role_all: permissive for all to service_role using true with check true
policy public.alert_windows.operators_read: permissive for select to authenticated using (SELECT fn_is_operator() AS fn_is_operator)
policy public.alert_windows.service_role_all: permissive for all to service_role using true with check true
policy public.directory_changes.operators_read: permissive for select to authenticated using (SELECT fn_is_operator() AS fn_is_operator)
policy public.directory_changes.service_role_read: permissive for select to service_role using true
policy public.ds_directory.operators_read: permissive for select to authenticated using (SELECT fn_is_operator() AS fn_is_operator)
policy public.ds_directory.service_role_all: permissive for all to service_role using true with check true
policy public.import_anomalies.operators_read: permissive for select to authenticated using (SELECT fn_is_operator() AS fn_is_operator)
policy public.import_anomalies.service_role_all: permissive for all to service_role using true with check true
policy public.import_anomaly_rollups.operators_read: permissive for select to authenticated using (SELECT fn_is_operator() AS fn_is_operator)
policy public.import_anomaly_rollups.service_role_read: permissive for select to service_role using true
policy public.import_batch_decisions.service_role_all: permissive for all to service_role using true with check true
policy public.import_problem_events.operators_read: permissive for select to authenticated using (SELECT fn_is_operator() AS fn_is_operator)
policy public.import_problem_events.service_role_all: permissive for all to service_role using true with check true
policy public.import_problem_rollups.operators_read: permissive for select to authenticated using (SELECT fn_is_operator() AS fn_is_operator)
policy public.import_problem_rollups.service_role_read: permissive for select to service_role using true
policy public.import_problems.operators_read: permissive for select to authenticated using (SELECT fn_is_operator() AS fn_is_operator)
policy public.import_problems.service_role_all: permissive for all to service_role using true with check true
policy public.import_requests.operators_read: permissive for select to authenticated using (SELECT fn_is_operator() AS fn_is_operator)
policy public.import_requests.service_role_all: permissive for all to service_role using true with check true
policy public.import_retention_stats.operators_read: permissive for select to authenticated using fn_is_operator()
policy public.import_retention_stats.service_role_all: permissive for all to service_role using true with check true
policy public.organizations.operators_read: permissive for select to authenticated using (SELECT fn_is_operator() AS fn_is_operator)
policy public.organizations.service_role_all: permissive for all to service_role using true with check true
policy public.partner_normalization.operators_read: permissive for select to authenticated using (SELECT fn_is_operator() AS fn_is_operator)
policy public.partner_normalization.service_role_all: permissive for all to service_role using true with check true
policy public.project_org_memberships.operators_read: permissive for select to authenticated using (SELECT fn_is_operator() AS fn_is_operator)
policy public.project_org_memberships.service_role_all: permissive for all to service_role using true with check true
policy public.project_user_memberships.operators_read: permissive for select to authenticated using (SELECT fn_is_operator() AS fn_is_operator)
policy public.project_user_memberships.service_role_all: permissive for all to service_role using true with check true
policy public.projects.operators_read: permissive for select to authenticated using (SELECT fn_is_operator() AS fn_is_operator)
policy public.projects.service_role_all: permissive for all to service_role using true with check true
policy public.rm_directory.operators_read: permissive for select to authenticated using (SELECT fn_is_operator() AS fn_is_operator)
policy public.rm_directory.service_role_all: permissive for all to service_role using true with check true
policy public.staging_imports.service_role_all: permissive for all to service_role using true with check true
policy public.tenant_events.operators_read: permissive for select to authenticated using (SELECT fn_is_operator() AS fn_is_operator)
policy public.tenant_events.service_role_all: permissive for all to service_role using true with check true
policy public.tenants.operators_read: permissive for select to authenticated using (SELECT fn_is_operator() AS fn_is_operator)
policy public.tenants.service_role_all: permissive for all to service_role using true with check true

grant execute on function auth.jwt() to public
grant execute on function public.fn_alert_evaluate(integer, integer, numeric, integer, integer, text, text, timestamp with time zone) to service_role
grant execute on function public.fn_alert_evaluate_judge(timestamp with time zone, timestamp with time zone, interval, timestamp with time zone, numeric, integer, integer, text, text) to service_role
grant execute on function public.fn_alert_evaluate_tenants(timestamp with time zone, timestamp with time zone, integer) to service_role
grant execute on function public.fn_alert_evaluate_windows(timestamp with time zone, integer, timestamp with time zone) to service_role
grant execute on function public.fn_anomalies_check_window(integer) to authenticated
grant execute on function public.fn_anomalies_check_window(integer) to service_role
grant execute on function public.fn_anomalies_for_operator(integer, text, text[]) to authenticated
grant execute on function public.fn_anomalies_for_operator(integer, text, text[]) to service_role
grant execute on function public.fn_anomalies_for_operator(integer, text, text[], integer) to authenticated
grant execute on function public.fn_anomalies_for_operator(integer, text, text[], integer) to service_role
grant execute on function public.fn_anomalies_for_operator(integer, text, text[], integer, text[], text[], uuid[], text, timestamp with time zone, bigint) to authenticated
grant execute on function public.fn_anomalies_for_operator(integer, text, text[], integer, text[], text[], uuid[], text, timestamp with time zone, bigint) to service_role
grant execute on function public.fn_anomalies_stats(integer) to authenticated
grant execute on function public.fn_anomalies_stats(integer) to service_role
grant execute on function public.fn_anomaly_set_status(bigint, text) to authenticated
grant execute on function public.fn_anomaly_set_status(bigint, text) to service_role
grant execute on function public.fn_business_time_add(timestamp with time zone, numeric, text) to authenticated
grant execute on function public.fn_business_time_add(timestamp with time zone, numeric, text) to service_role
grant execute on function public.fn_business_time_add(timestamp with time zone, numeric, text, time without time zone, time without time zone, integer[]) to authenticated
grant execute on function public.fn_business_time_add(timestamp with time zone, numeric, text, time without time zone, time without time zone, integer[]) to service_role
grant execute on function public.fn_cleanup_import_data(integer, integer, integer, integer) to service_role
grant execute on function public.fn_cleanup_import_data_anomalies(timestamp with time zone, integer) to service_role
grant execute on function public.fn_cleanup_import_data_deliveries(timestamp with time zone, integer) to service_role
grant execute on function public.fn_cleanup_import_data_problems(timestamp with time zone, integer) to service_role
grant execute on function public.fn_cleanup_import_data_requests(timestamp with time zone, integer) to service_role
grant execute on function public.fn_cleanup_import_data_staging(timestamp with time zone, integer) to service_role
grant execute on function public.fn_cleanup_import_data_unlink(timestamp with time zone, integer) to service_role
grant execute on function public.fn_dashboard_membership_changes(integer, integer) to authenticated
grant execute on function public.fn_dashboard_membership_changes(integer, integer) to service_role
grant execute on function public.fn_directory_change_apply(text, bigint) to authenticated
grant execute on function public.fn_directory_change_apply(text, bigint) to service_role
grant execute on function public.fn_directory_change_credit(text, bigint) to authenticated
grant execute on function public.fn_directory_change_credit(text, bigint) to service_role
grant execute on function public.fn_directory_change_undo(text, bigint) to authenticated
grant execute on function public.fn_directory_change_undo(text, bigint) to service_role
grant execute on function public.fn_directory_key(text) to service_role
grant execute on function public.fn_directory_partner_remove(text, text) to authenticated
grant execute on function public.fn_directory_partner_remove(text, text) to service_role
grant execute on function public.fn_directory_partner_set(text, text, text, bigint) to authenticated
grant execute on function public.fn_directory_partner_set(text, text, text, bigint) to service_role
grant execute on function public.fn_directory_person_set(text, text, text, text, boolean, bigint) to authenticated
grant execute on function public.fn_directory_person_set(text, text, text, text, boolean, bigint) to service_role
grant execute on function public.fn_directory_suggestions(text, text, text, integer) to authenticated
grant execute on function public.fn_directory_suggestions(text, text, text, integer) to service_role
grant execute on function public.fn_import_anomalies_lock(bigint[]) to service_role
grant execute on function public.fn_import_anomaly_applies(text, projects) to authenticated
grant execute on function public.fn_import_anomaly_applies(text, projects) to service_role
grant execute on function public.fn_import_anomaly_misses(text, text, text, text, text, text, text) to authenticated
grant execute on function public.fn_import_anomaly_misses(text, text, text, text, text, text, text) to service_role
grant execute on function public.fn_import_anomaly_subject(text, text, text, text, text) to authenticated
grant execute on function public.fn_import_anomaly_subject(text, text, text, text, text) to service_role
grant execute on function public.fn_import_audit_after(text, jsonb, jsonb) to service_role
grant execute on function public.fn_import_audit_before(text, text[]) to service_role
grant execute on function public.fn_import_audit_limits(text) to service_role
grant execute on function public.fn_import_batch_diff(text, uuid, jsonb) to service_role
grant execute on function public.fn_import_batch_for_operator(bigint) to authenticated
grant execute on function public.fn_import_batch_for_operator(bigint) to service_role
grant execute on function public.fn_import_batch_hold(text, uuid, jsonb, jsonb) to service_role
grant execute on function public.fn_import_batch_overtaken(text, uuid) to service_role
grant execute on function public.fn_import_batch_problems_lock(text) to service_role
grant execute on function public.fn_import_batch_publish(text, uuid, jsonb, text) to service_role
grant execute on function public.fn_import_batch_reject(text, uuid, text, text) to service_role
grant execute on function public.fn_import_batch_resent(text, jsonb) to service_role
grant execute on function public.fn_import_batch_state(text, uuid) to authenticated
grant execute on function public.fn_import_batch_state(text, uuid) to service_role
grant execute on function public.fn_import_get(bigint) to authenticated
grant execute on function public.fn_import_get(bigint) to service_role
grant execute on function public.fn_import_problems_lock(bigint[]) to service_role
grant execute on function public.fn_import_projects_snapshot(text, text[]) to service_role
grant execute on function public.fn_import_retention_cron_job() to service_role
grant execute on function public.fn_imports_for_operator(text, integer, timestamp with time zone, timestamp with time zone, bigint, integer, text) to authenticated
grant execute on function public.fn_imports_for_operator(text, integer, timestamp with time zone, timestamp with time zone, bigint, integer, text) to service_role
grant execute on function public.fn_is_admin() to authenticated
grant execute on function public.fn_is_admin() to service_role
grant execute on function public.fn_is_operator() to authenticated
grant execute on function public.fn_is_operator() to service_role
grant execute on function public.fn_jwt_app_role() to authenticated
grant execute on function public.fn_jwt_app_role() to service_role
grant execute on function public.fn_problem_due_times(text, timestamp with time zone) to authenticated
grant execute on function public.fn_problem_due_times(text, timestamp with time zone) to service_role
grant execute on function public.fn_problem_events(bigint) to authenticated
grant execute on function public.fn_problem_events(bigint) to service_role
grant execute on function public.fn_problem_get(bigint) to authenticated
grant execute on function public.fn_problem_get(bigint) to service_role
grant execute on function public.fn_problem_group_set_status(text, text, text, text, text) to authenticated
grant execute on function public.fn_problem_group_set_status(text, text, text, text, text) to service_role
grant execute on function public.fn_problem_groups_for_operator(text, text[], text[], text[], uuid[], text, boolean, text, timestamp with time zone, bigint, integer) to authenticated
grant execute on function public.fn_problem_groups_for_operator(text, text[], text[], text[], uuid[], text, boolean, text, timestamp with time zone, bigint, integer) to service_role
grant execute on function public.fn_problem_metrics() to service_role
grant execute on function public.fn_problem_occurrences(bigint, integer) to authenticated
grant execute on function public.fn_problem_occurrences(bigint, integer) to service_role
grant execute on function public.fn_problem_set_status(bigint, text, text) to authenticated
grant execute on function public.fn_problem_set_status(bigint, text, text) to service_role
grant execute on function public.fn_problem_stats(integer) to authenticated
grant execute on function public.fn_problem_stats(integer) to service_role
grant execute on function public.fn_problems_check_filters(text[], text[], text[], integer) to authenticated
grant execute on function public.fn_problems_check_filters(text[], text[], text[], integer) to service_role
grant execute on function public.fn_problems_for_operator(text, text[], text[], text[], uuid[], text, boolean, text, timestamp with time zone, bigint, integer) to authenticated
grant execute on function public.fn_problems_for_operator(text, text[], text[], text[], uuid[], text, boolean, text, timestamp with time zone, bigint, integer) to service_role
grant execute on function public.fn_problems_set_status_each(bigint[], text, text) to authenticated
grant execute on function public.fn_problems_set_status_each(bigint[], text, text) to service_role
grant execute on function public.fn_projects_import_lock(text) to service_role
grant execute on function public.fn_projects_import_lock_key(text) to service_role
grant execute on function public.fn_projects_import_merge(text, text, uuid, jsonb, uuid) to service_role
grant execute on function public.fn_projects_import_merge_columns(text, text, uuid, uuid, text[], text[], text[], text[], text[], text[], integer[], integer[], integer[], integer[], text[], text[]) to service_role
grant execute on function public.fn_projects_import_merge_find_misses(text, uuid, boolean) to service_role
grant execute on function public.fn_projects_import_merge_memoize(text, uuid, uuid, jsonb) to service_role
grant execute on function public.fn_projects_import_merge_record_occurrences(text, uuid, uuid, uuid) to service_role
grant execute on function public.fn_projects_import_merge_resolve_fixed(text) to service_role
grant execute on function public.fn_projects_import_merge_stage(text, text[], text[], text[], text[], text[], text[], integer[], integer[], integer[], integer[], text[], text[]) to service_role
grant execute on function public.fn_projects_import_merge_upsert_problems(text, uuid) to service_role
grant execute on function public.fn_projects_import_merge_upsert_projects(text, text, uuid, uuid) to service_role
grant execute on function public.fn_projects_import_stage(text, text, uuid, text, smallint, jsonb, integer, uuid, jsonb) to service_role
grant execute on function public.fn_projects_import_submit(text, text, uuid, text, smallint, jsonb, jsonb, uuid, jsonb) to service_role
grant execute on function public.fn_projects_import_submit_columns(text, text, uuid, text, smallint, jsonb, uuid, jsonb, text[], text[], text[], text[], text[], text[], integer[], integer[], integer[], integer[], text[]) to service_role
grant execute on function public.fn_projects_import_try_lock(text) to service_role
grant execute on function public.fn_projects_membership_backfill(text) to service_role
grant execute on function public.fn_projects_membership_backfill(text, text[]) to service_role
grant execute on function public.fn_projects_membership_backfill_canonical(text, text[]) to service_role
grant execute on function public.fn_projects_membership_backfill_resolve(text, text[]) to service_role
grant execute on function public.fn_projects_membership_sync_table() to service_role
grant execute on function public.fn_projects_resolve_canonical(text, text, text, text, text) to service_role
grant execute on function public.fn_projects_resolve_canonical_batch(text, text[], text[], text[], text[]) to service_role
grant execute on function public.fn_projects_sync_memberships(uuid) to service_role
grant execute on function public.fn_projects_sync_memberships_rows(uuid, text[], text[], text[], text[], text[]) to service_role
grant execute on function public.fn_require_admin() to authenticated
grant execute on function public.fn_require_admin() to service_role
grant execute on function public.fn_require_operator() to authenticated
grant execute on function public.fn_require_operator() to service_role
grant execute on function public.fn_tenant_audits_for_operator() to authenticated
grant execute on function public.fn_tenant_audits_for_operator() to service_role
grant execute on function public.fn_tenant_expected_at(timestamp with time zone, text, time without time zone, integer[]) to authenticated
grant execute on function public.fn_tenant_expected_at(timestamp with time zone, text, time without time zone, integer[]) to service_role
grant execute on function public.fn_tenant_last_success_at(text) to authenticated
grant execute on function public.fn_tenant_last_success_at(text) to service_role
grant execute on function public.fn_tenant_pause(text, text, text) to service_role
grant execute on function public.fn_tenant_resume(text, text) to service_role
grant execute on function public.fn_tenant_secrets_for_operator() to authenticated
grant execute on function public.fn_tenant_secrets_for_operator() to service_role
grant execute on function public.fn_tenant_set_audit(text, boolean, numeric, numeric, numeric, integer) to service_role
grant execute on function public.fn_tenant_set_paused(text, boolean, text) to authenticated
grant execute on function public.fn_tenant_set_paused(text, boolean, text) to service_role
grant execute on function public.fn_tenants_status_for_operator() to authenticated
grant execute on function public.fn_tenants_status_for_operator() to service_role
grant select, usage on sequence public.alert_deliveries_id_seq to service_role
grant select, usage on sequence public.import_anomalies_id_seq to service_role
grant select, usage on sequence public.import_problem_events_id_seq to service_role
grant select, usage on sequence public.import_problems_id_seq to service_role
grant select, usage on sequence public.import_requests_id_seq to service_role
grant select, usage on sequence public.project_org_memberships_id_seq to service_role
grant select, usage on sequence public.project_user_memberships_id_seq to service_role
grant select, usage on sequence public.tenant_events_id_seq to service_role
grant select on table public.alert_deliveries to authenticated
grant delete, insert, select, update on table public.alert_deliveries to service_role
grant select on table public.alert_windows to authenticated
grant delete, insert, select, update on table public.alert_windows to service_role
grant select on table public.directory_changes to authenticated
grant select on table public.directory_changes to service_role
grant select on table public.ds_directory to authenticated
grant delete, insert, select, update on table public.ds_directory to service_role
grant select on table public.import_anomalies to authenticated
grant delete, insert, select, update on table public.import_anomalies to service_role
grant select on table public.import_anomaly_rollups to authenticated
grant select on table public.import_anomaly_rollups to service_role
grant delete, insert, select, update on table public.import_batch_decisions to service_role
grant select on table public.import_problem_events to authenticated
grant delete, insert, select, update on table public.import_problem_events to service_role
grant select on table public.import_problem_rollups to authenticated
grant select on table public.import_problem_rollups to service_role
grant select on table public.import_problems to authenticated
grant delete, insert, select, update on table public.import_problems to service_role
grant select on table public.import_requests to authenticated
grant delete, insert, select, update on table public.import_requests to service_role
grant select on table public.import_retention_stats to authenticated
grant delete, insert, select, update on table public.import_retention_stats to service_role
grant select on table public.organizations to authenticated
grant delete, insert, select, update on table public.organizations to service_role
grant select on table public.partner_normalization to authenticated
grant delete, insert, select, update on table public.partner_normalization to service_role
grant select on table public.project_org_memberships to authenticated
grant delete, insert, select, update on table public.project_org_memberships to service_role
grant select on table public.project_user_memberships to authenticated
grant delete, insert, select, update on table public.project_user_memberships to service_role
grant select on table public.projects to authenticated
grant delete, insert, select, update on table public.projects to service_role
grant select on table public.rm_directory to authenticated
grant delete, insert, select, update on table public.rm_directory to service_role
grant delete, insert, select, update on table public.staging_imports to service_role
grant select on table public.tenant_events to authenticated
grant delete, insert, select, update on table public.tenant_events to service_role
grant select on table public.tenants to authenticated
grant delete, insert, select, update on table public.tenants to service_role
grant select on view public.vw_import_anomalies_recent to authenticated
grant select on view public.vw_import_anomalies_recent to service_role
grant select on view public.vw_import_anomalies_stats_24h to authenticated
grant select on view public.vw_import_anomalies_stats_24h to service_role
grant select on view public.vw_project_members to authenticated
grant select on view public.vw_project_members to service_role
grant select on view public.vw_tenant_freshness to authenticated
grant select on view public.vw_tenant_freshness to service_role
