-- 0002 — Tenants, directories, projects, memberships, staging and anomalies.
-- Every primary and unique key starts with tenant_id, so the schema can be distributed by
-- tenant (e.g. Citus) without redesign.

-- Directory matching key: case-insensitive, inner whitespace collapsed, trimmed (SPEC §5.1).
create or replace function public.fn_directory_key(p_value text) returns text
    language sql immutable parallel safe
    as $$ select nullif(btrim(lower(regexp_replace(p_value, '\s+', ' ', 'g'))), '') $$;

create table public.tenants (
    tenant_id   text primary key
                check (tenant_id ~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$'),
    timezone    text not null default 'UTC',
    created_at  timestamptz not null default now()
);

-- Bearer secrets are stored as SHA-256 digests only. A secret reads `pit_<secret_id>.<random>`;
-- secret_id finds the row, the hash proves the rest. expires_at is set on rotation (grace).
create table public.tenant_secrets (
    tenant_id    text not null references public.tenants on delete cascade,
    secret_id    text not null,
    secret_hash  text not null,
    created_at   timestamptz not null default now(),
    expires_at   timestamptz,
    primary key (tenant_id, secret_id)
);
create index tenant_secrets_secret_id on public.tenant_secrets (secret_id);

create table public.partner_normalization (
    tenant_id   text not null references public.tenants on delete cascade,
    alias       text not null,
    canonical   text not null check (btrim(canonical) <> ''),
    alias_key   text generated always as (public.fn_directory_key(alias)) stored not null,
    updated_at  timestamptz not null default now(),
    primary key (tenant_id, alias_key)
);
create index partner_normalization_canonical
    on public.partner_normalization (tenant_id, public.fn_directory_key(canonical));

create table public.ds_directory (
    tenant_id           text not null references public.tenants on delete cascade,
    preferred_username  text not null,
    display_name        text,
    active              boolean not null default true,
    username_key        text generated always as (public.fn_directory_key(preferred_username)) stored not null,
    updated_at          timestamptz not null default now(),
    primary key (tenant_id, username_key)
);

create table public.rm_directory (
    tenant_id           text not null references public.tenants on delete cascade,
    preferred_username  text not null,
    display_name        text not null,
    active              boolean not null default true,
    username_key        text generated always as (public.fn_directory_key(preferred_username)) stored not null,
    display_key         text generated always as (public.fn_directory_key(display_name)) stored,
    updated_at          timestamptz not null default now(),
    primary key (tenant_id, username_key)
);
create index rm_directory_display on public.rm_directory (tenant_id, display_key) where active;

create table public.organizations (
    tenant_id   text not null references public.tenants on delete cascade,
    name        text not null,
    name_key    text generated always as (public.fn_directory_key(name)) stored not null,
    created_at  timestamptz not null default now(),
    primary key (tenant_id, name_key)
);

create table public.projects (
    tenant_id                  text not null references public.tenants on delete cascade,
    stage_application          text not null,
    delivery_partner           text,
    developer_class            text,
    relationship_manager       text,
    deployment_specialist      text,
    rm_preferred_username      text,
    residential                integer not null default 0 check (residential >= 0),
    commercial                 integer not null default 0 check (commercial >= 0),
    essential                  integer not null default 0 check (essential >= 0),
    premises_count             integer not null default 0 check (premises_count >= 0),
    stage_application_created  date,
    -- canonical values resolved from the directories at merge/backfill time
    partner_org                text,
    ds_username                text,
    rm_username                text,
    source                     text,
    last_batch_id              uuid,
    last_correlation_id        uuid,
    created_at                 timestamptz not null default now(),
    updated_at                 timestamptz not null default now(),
    primary key (tenant_id, stage_application)
);

-- Memberships are never deleted by the merge: a membership that no longer applies gets
-- ended_at, so "who had access when" stays answerable. At most one active row per member.
create table public.project_org_memberships (
    tenant_id          text not null,
    id                 bigint generated always as identity,
    stage_application  text not null,
    org_name           text not null,
    role               text not null default 'delivery_partner' check (role = 'delivery_partner'),
    since              timestamptz not null default now(),
    ended_at           timestamptz,
    batch_id           uuid,
    ended_batch_id     uuid,
    primary key (tenant_id, id),
    foreign key (tenant_id, stage_application)
        references public.projects (tenant_id, stage_application) on delete cascade
);
create unique index project_org_memberships_active
    on public.project_org_memberships (tenant_id, stage_application, role, org_name)
    where ended_at is null;

create table public.project_user_memberships (
    tenant_id          text not null,
    id                 bigint generated always as identity,
    stage_application  text not null,
    username           text not null,
    role               text not null
                       check (role in ('deployment_specialist', 'relationship_manager')),
    since              timestamptz not null default now(),
    ended_at           timestamptz,
    batch_id           uuid,
    ended_batch_id     uuid,
    primary key (tenant_id, id),
    foreign key (tenant_id, stage_application)
        references public.projects (tenant_id, stage_application) on delete cascade
);
create unique index project_user_memberships_active
    on public.project_user_memberships (tenant_id, stage_application, role, username)
    where ended_at is null;
create index project_user_memberships_member
    on public.project_user_memberships (tenant_id, username) where ended_at is null;

create view public.vw_project_members with (security_invoker = true) as
    select tenant_id, stage_application as project_key, 'org'::text as member_type,
           org_name as member, role, since
      from public.project_org_memberships
     where ended_at is null
    union all
    select tenant_id, stage_application, 'user'::text, username, role, since
      from public.project_user_memberships
     where ended_at is null;

-- One row per accepted batch: the raw payload as received, its checksum and memoized metrics.
create table public.staging_imports (
    tenant_id         text not null references public.tenants on delete cascade,
    id                uuid not null default gen_random_uuid(),
    batch_id          uuid not null,
    source            text not null,
    raw               jsonb not null,
    batch_checksum    text not null,
    checksum_version  smallint not null default 1,
    row_count         integer not null check (row_count > 0),
    correlation_id    uuid not null,
    validation        jsonb not null default '{}'::jsonb,
    created_at        timestamptz not null default now(),
    primary key (tenant_id, id),
    unique (tenant_id, batch_checksum),
    unique (tenant_id, batch_id)
);
create index staging_imports_created on public.staging_imports (created_at);

create table public.import_anomalies (
    tenant_id        text not null,
    id               bigint generated always as identity,
    batch_id         uuid not null,
    staging_id       uuid,
    row_index        integer not null,
    project_key      text,
    anomaly_type     text not null
                     check (anomaly_type in ('UNKNOWN_DELIVERY_PARTNER', 'UNKNOWN_DS', 'UNKNOWN_RM')),
    severity         text not null check (severity in ('error', 'warning', 'info')),
    payload_excerpt  text check (char_length(payload_excerpt) <= 500),
    correlation_id   uuid,
    created_at       timestamptz not null default now(),
    status           text not null default 'open'
                     check (status in ('open', 'acknowledged', 'resolved')),
    acknowledged_at  timestamptz,
    acknowledged_by  text,
    resolved_at      timestamptz,
    primary key (tenant_id, id),
    unique (tenant_id, batch_id, row_index, anomaly_type),
    -- retention removes staging rows before their anomalies: keep the anomaly, drop the link
    foreign key (tenant_id, staging_id)
        references public.staging_imports (tenant_id, id) on delete set null (staging_id)
);
create index import_anomalies_created on public.import_anomalies (created_at desc, id desc);
create index import_anomalies_tenant_created
    on public.import_anomalies (tenant_id, created_at desc, id desc);
create index import_anomalies_unresolved
    on public.import_anomalies (tenant_id, project_key, anomaly_type)
    where status <> 'resolved';
