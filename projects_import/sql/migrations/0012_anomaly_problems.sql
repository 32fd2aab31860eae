-- 0012 — Problems and occurrences, SLA clocks, freshness, pause (quarantine), retention of the
-- request log. The SQL API the HTTP side and the scheduler build on; docs/anomalies.md
-- ("Problems and occurrences: the data model") describes the same model for operators.
--
-- Model. A problem is one (tenant, project, anomaly type, unknown value as the directories
-- match it, i.e. fn_directory_key). Each batch's miss stays an occurrence: an import_anomalies
-- row (batch_id, row_index, excerpt, correlation_id) that now carries problem_id. The problem
-- holds the lifecycle: status open | acknowledged | resolved, first/last seen, occurrences,
-- last batch/anomaly/excerpt, who and when acknowledged/resolved, how it was resolved
-- (directory_fix | data_fix | manual), regressed, reopened_at and the SLA clocks.
-- The problem's status is authoritative; the occurrence rows' status, acknowledged_* and
-- resolved_at are kept equal to their problem's (the merge, the backfill and the lifecycle
-- RPCs update the affected problems' occurrences only), so the 0005 readers stay true.
-- import_anomalies rows without a problem (project_key null, or inserted by hand) keep the
-- 0005 behaviour of their own.
--
-- SQL API (operators: `authenticated` with app_metadata.role operator|admin, checked by
-- fn_require_operator(); 42501 otherwise):
--   fn_anomalies_for_operator(p_window_hours int (null: no window), p_tenant text,
--       p_severity text[], p_limit int, p_anomaly_type text[], p_status text[] default null,
--       p_batch_id uuid[] default null, p_project_key text default null,
--       p_after_created_at timestamptz default null, p_after_id bigint default null)
--       → setof import_anomalies, newest first by (created_at desc, id desc); the cursor is the
--       last row's (created_at, id). p_anomaly_type has no default so the 0005 overloads keep
--       resolving as before (pass null for "any").
--   fn_problems_for_operator(p_tenant, p_anomaly_type text[], p_status text[],
--       p_severity text[], p_batch_id uuid[], p_project_key, p_overdue bool, p_search text,
--       p_after_last_seen_at timestamptz, p_after_id bigint, p_limit int default 100)
--       → setof import_problems by (last_seen_at desc, id desc). Every filter null = any; the
--       caller chooses the status (the HTTP route defaults to open). p_batch_id: problems with an
--       occurrence in those batches; p_search: case-insensitive substring of project_key or
--       unknown_value; p_overdue: ack or resolve clock passed while still due.
--   fn_problem_get(p_id) → setof import_problems (one row; P0002 when missing).
--   fn_problem_occurrences(p_id, p_limit default 100) → setof import_anomalies, newest first
--       (P0002 when the problem is missing).
--   fn_problem_events(p_id) → setof import_problem_events, oldest first.
--   fn_problem_set_status(p_id, p_status, p_note default null) SECURITY DEFINER → setof
--       import_problems: open → acknowledged → resolved or open → resolved; records the JWT
--       `sub` (acknowledged_by / resolved_by), resolution manual, an event row; repeating a
--       step changes nothing. 42501 not operator, P0002 missing, 55000 acknowledging a
--       resolved problem, 22023 status not acknowledged|resolved.
--   fn_anomaly_set_status(p_id, p_status) keeps its signature and answer, acting on the
--       anomaly's problem (when it has one).
--   fn_problem_stats(p_window_hours default 24) → per (tenant_id, anomaly_type, severity):
--       open_problems, acknowledged_problems, new_problems (first seen in the window and not
--       resolved), occurrences (recorded in the window), overdue_ack (open, ack_due_at passed),
--       overdue_resolve (not resolved, resolve_due_at passed). Resolved problems never count.
--   vw_tenant_freshness (security_invoker, operators read through tenants' RLS).
-- Service role only (revoked from anon/authenticated):
--   fn_tenant_pause(p_tenant_id, p_reason, p_actor default 'system') → jsonb
--   fn_tenant_resume(p_tenant_id, p_actor default 'system') → jsonb
--   fn_projects_import_submit → {"outcome": "paused", "reason", "paused_at"} for a paused tenant.
-- Helpers anyone with a role may call (pure): fn_business_time_add(from, hours, tz, start, end,
--   days), fn_business_time_add(from, hours, tenant_id), fn_problem_due_times(tenant, from),
--   fn_tenant_expected_at(now, tz, schedule_time, days).

-- ------------------------------------------------------------------ tenants: calendar, pause

alter table public.tenants
    add column business_hours_start    time not null default '09:00',
    add column business_hours_end      time not null default '17:00',
    add column business_days           integer[] not null default '{1,2,3,4,5}',
    add column schedule_time           time not null default '17:00',
    add column schedule_grace_minutes  integer not null default 60
                                       check (schedule_grace_minutes >= 0),
    add column alert_min_occurrences   integer not null default 5
                                       check (alert_min_occurrences >= 1),
    add column alert_min_errors        integer not null default 2
                                       check (alert_min_errors >= 1),
    add column paused_at               timestamptz,
    add column paused_reason           text check (char_length(paused_reason) <= 500),
    add column paused_by               text,
    add constraint tenants_business_hours check (business_hours_start < business_hours_end),
    add constraint tenants_business_days
        check (cardinality(business_days) between 1 and 7
               and business_days <@ '{1,2,3,4,5,6,7}'::integer[]),
    add constraint tenants_paused check ((paused_at is null) = (paused_reason is null));

-- ------------------------------------------------------------------ SLA: business time

-- fn_business_time_add (pure) — p_from plus p_hours of business time, counted on the wall
-- clock of zone p_tz within [p_start, p_end) on ISO days p_days (1 = Monday). A start outside
-- business hours counts from the next opening. DST days count their wall-clock hours
-- (09:00–17:00 is 8 hours every day). 22023 for a bad calendar or negative hours.
create or replace function public.fn_business_time_add(
    p_from   timestamptz,
    p_hours  numeric,
    p_tz     text,
    p_start  time,
    p_end    time,
    p_days   integer[]
) returns timestamptz
    language plpgsql stable
    set search_path = public, pg_temp
    as $$
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
$$;

-- fn_business_time_add (per tenant) — the same in the tenant's zone and business calendar.
create or replace function public.fn_business_time_add(
    p_from       timestamptz,
    p_hours      numeric,
    p_tenant_id  text
) returns timestamptz
    language sql stable
    set search_path = public, pg_temp
    as $$
    select public.fn_business_time_add(p_from, p_hours, t.timezone, t.business_hours_start,
                                       t.business_hours_end, t.business_days)
      from public.tenants t
     where t.tenant_id = p_tenant_id
    $$;

-- fn_problem_due_times — the runbook's clocks for a problem seen (or reopened) at p_from:
-- acknowledge within 4 business hours, resolve within 1 business day (the length of the
-- tenant's business day, 8 hours by default).
create or replace function public.fn_problem_due_times(p_tenant_id text, p_from timestamptz)
    returns table (ack_due_at timestamptz, resolve_due_at timestamptz)
    language sql stable
    set search_path = public, pg_temp
    as $$
    select public.fn_business_time_add(p_from, 4, t.timezone, t.business_hours_start,
                                       t.business_hours_end, t.business_days),
           public.fn_business_time_add(
               p_from,
               extract(epoch from t.business_hours_end - t.business_hours_start) / 3600,
               t.timezone, t.business_hours_start, t.business_hours_end, t.business_days)
      from public.tenants t
     where t.tenant_id = p_tenant_id
    $$;

-- ------------------------------------------------------------------ problems

create table public.import_problems (
    tenant_id        text not null references public.tenants on delete cascade,
    id               bigint generated always as identity,
    project_key      text not null,
    anomaly_type     text not null
                     check (anomaly_type in ('UNKNOWN_DELIVERY_PARTNER', 'UNKNOWN_DS',
                                             'UNKNOWN_RM')),
    severity         text not null check (severity in ('error', 'warning', 'info')),
    unknown_value    text not null,
    unknown_key      text not null,
    status           text not null default 'open'
                     check (status in ('open', 'acknowledged', 'resolved')),
    first_seen_at    timestamptz not null default now(),
    last_seen_at     timestamptz not null default now(),
    occurrences      integer not null default 1 check (occurrences >= 0),
    last_batch_id    uuid,
    last_anomaly_id  bigint,
    payload_excerpt  text check (char_length(payload_excerpt) <= 500),
    acknowledged_at  timestamptz,
    acknowledged_by  text,
    resolved_at      timestamptz,
    resolved_by      text,
    resolution       text check (resolution in ('directory_fix', 'data_fix', 'manual')),
    regressed        boolean not null default false,
    reopened_at      timestamptz,
    ack_due_at       timestamptz,
    resolve_due_at   timestamptz,
    note             text check (char_length(note) <= 2000),
    primary key (tenant_id, id),
    unique (tenant_id, project_key, anomaly_type, unknown_key),
    check ((status = 'resolved') = (resolution is not null))
);
-- fn_problem_get / fn_problem_set_status / fn_anomaly_set_status look a problem up by id
-- without its tenant.
create index import_problems_id on public.import_problems (id);
-- fn_problems_for_operator for one tenant: newest last_seen first, keyset cursor. Every
-- import updates last_seen_at of its problems, so indexes on it cost each import: the
-- all-tenant listing, fn_problem_stats and retention read the (much smaller than
-- import_anomalies) table without one of their own.
create index import_problems_tenant_seen
    on public.import_problems (tenant_id, last_seen_at desc, id desc);

-- The history of status changes (opened, acknowledged, resolved, reopened).
create table public.import_problem_events (
    tenant_id   text not null,
    id          bigint generated always as identity,
    problem_id  bigint not null,
    at          timestamptz not null default now(),
    actor       text not null,
    action      text not null
                check (action in ('opened', 'acknowledged', 'resolved', 'reopened')),
    resolution  text check (resolution in ('directory_fix', 'data_fix', 'manual')),
    note        text check (char_length(note) <= 2000),
    primary key (tenant_id, id),
    foreign key (tenant_id, problem_id)
        references public.import_problems (tenant_id, id) on delete cascade
);
-- fn_problem_events (one problem's history in order) and the cascade from a deleted problem.
create index import_problem_events_problem
    on public.import_problem_events (tenant_id, problem_id, at, id);

alter table public.import_anomalies
    add column problem_id bigint,
    add foreign key (tenant_id, problem_id)
        references public.import_problems (tenant_id, id) on delete set null (problem_id);
-- A problem's occurrences newest first (fn_problem_occurrences), keeping them in step with
-- their problem's status, the batch filter of fn_problems_for_operator and the foreign key.
create index import_anomalies_problem
    on public.import_anomalies (tenant_id, problem_id, created_at desc, id desc)
    where problem_id is not null;
-- fn_anomalies_for_operator's batch filter (the runbook's "review anomalies by batch_id").
create index import_anomalies_batch on public.import_anomalies (batch_id);

-- ------------------------------------------------------------------ existing data → problems
-- Anomalies recorded before this migration are grouped into problems. The unknown value is
-- read from the occurrence's excerpt (the row as received), else from the project as it stands,
-- else '(unknown)'. Status, acknowledged_* and resolved_at come from the newest occurrence;
-- a resolved one gets directory_fix when the project still carries the same value (the
-- directory or an operator made it go away) and data_fix otherwise, resolved_by unknown (null).
-- Anomalies without a project_key stay without a problem.

create temp table problem_seed on commit drop as
select a.tenant_id, a.id, a.project_key, a.anomaly_type, a.severity, a.created_at, a.status,
       a.acknowledged_at, a.acknowledged_by, a.resolved_at, a.batch_id, a.payload_excerpt,
       v.unknown_value, public.fn_directory_key(v.unknown_value) as unknown_key,
       public.fn_directory_key(public.fn_import_anomaly_subject(
           a.anomaly_type, p.delivery_partner, p.deployment_specialist,
           p.relationship_manager, p.rm_preferred_username)) as project_key_now
  from public.import_anomalies a
  left join public.projects p
         on p.tenant_id = a.tenant_id and p.stage_application = a.project_key
 cross join lateral (
        select coalesce(
                   public.fn_import_anomaly_subject(
                       a.anomaly_type,
                       substring(a.payload_excerpt from '"delivery_partner": "((?:[^"\\]|\\.)*)"'),
                       substring(a.payload_excerpt
                                 from '"deployment_specialist": "((?:[^"\\]|\\.)*)"'),
                       substring(a.payload_excerpt
                                 from '"relationship_manager": "((?:[^"\\]|\\.)*)"'),
                       substring(a.payload_excerpt
                                 from '"rm_preferred_username": "((?:[^"\\]|\\.)*)"')),
                   public.fn_import_anomaly_subject(
                       a.anomaly_type, p.delivery_partner, p.deployment_specialist,
                       p.relationship_manager, p.rm_preferred_username),
                   '(unknown)') as unknown_value
     ) v
 where a.project_key is not null
   and exists (select 1 from public.tenants t where t.tenant_id = a.tenant_id);

insert into public.import_problems (
    tenant_id, project_key, anomaly_type, severity, unknown_value, unknown_key, status,
    first_seen_at, last_seen_at, occurrences, last_batch_id, last_anomaly_id, payload_excerpt,
    acknowledged_at, acknowledged_by, resolved_at, resolved_by, resolution,
    ack_due_at, resolve_due_at)
select g.tenant_id, g.project_key, g.anomaly_type, g.severity, g.unknown_value, g.unknown_key,
       g.status, g.first_seen_at, g.created_at, g.occurrences, g.batch_id, g.id,
       g.payload_excerpt, g.acknowledged_at, g.acknowledged_by,
       case when g.status = 'resolved' then coalesce(g.resolved_at, g.created_at) end,
       null,
       case when g.status <> 'resolved' then null
            when g.project_key_now is not distinct from g.unknown_key then 'directory_fix'
            else 'data_fix' end,
       d.ack_due_at, d.resolve_due_at
  from (select distinct on (s.tenant_id, s.project_key, s.anomaly_type, s.unknown_key)
               s.*,
               min(s.created_at) over w as first_seen_at,
               count(*) over w as occurrences
          from pg_temp.problem_seed s
        window w as (partition by s.tenant_id, s.project_key, s.anomaly_type, s.unknown_key)
         order by s.tenant_id, s.project_key, s.anomaly_type, s.unknown_key,
                  s.created_at desc, s.id desc) g
 cross join lateral public.fn_problem_due_times(g.tenant_id, g.first_seen_at) d;

update public.import_anomalies a
   set problem_id = pr.id,
       status = pr.status,
       acknowledged_at = pr.acknowledged_at,
       acknowledged_by = pr.acknowledged_by,
       resolved_at = pr.resolved_at
  from pg_temp.problem_seed s
  join public.import_problems pr
    on pr.tenant_id = s.tenant_id and pr.project_key = s.project_key
   and pr.anomaly_type = s.anomaly_type and pr.unknown_key = s.unknown_key
 where a.tenant_id = s.tenant_id and a.id = s.id;

insert into public.import_problem_events (tenant_id, problem_id, at, actor, action, resolution)
select pr.tenant_id, pr.id, e.at, e.actor, e.action, e.resolution
  from public.import_problems pr
 cross join lateral (values
        (pr.first_seen_at, 'system', 'opened', null::text),
        (pr.acknowledged_at, coalesce(pr.acknowledged_by, 'system'), 'acknowledged', null),
        (pr.resolved_at, 'system', 'resolved', pr.resolution)
     ) as e(at, actor, action, resolution)
 where e.at is not null;

drop table pg_temp.problem_seed;

-- ------------------------------------------------------------------ the merge, on the rules

-- fn_projects_import_merge — as in 0003 (same parameters, same metrics), now on the shared
-- rules of 0011 and recording problems:
--   * memberships through fn_projects_sync_memberships,
--   * misses through fn_import_anomaly_misses; each miss that is new for this batch (a rerun
--     of the same batch records no second occurrence) is an occurrence (import_anomalies) of
--     its problem: a new problem opens (occurrences 1, SLA clocks from now); an existing one
--     counts the occurrence (last seen, last batch, excerpt, anomaly id); a resolved one
--     reopens (status open, reopened_at, new clocks, acknowledgement cleared) and is marked
--     regressed when it had been resolved by hand (manual),
--   * the unresolved problems of the batch's projects that the batch no longer shows are
--     resolved by 'system': directory_fix when the row still carries the same value (it now
--     resolves), data_fix when the value changed or was removed,
--   * the occurrences of every problem it changed follow their problem's status.
-- metrics.anomalies_count counts the batch's misses, anomalies_resolved the occurrence rows
-- this run resolved (as before).
create or replace function public.fn_projects_import_merge(
    tenant_id       text,
    source          text,
    batch_id        uuid,
    rows            jsonb,
    correlation_id  uuid
) returns jsonb
    language plpgsql
    set search_path = public, pg_temp
    as $$
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
    v_sync            jsonb;
    v_anomalies       integer := 0;
    v_new             integer := 0;
    v_resolved        integer := 0;
    v_ack_due         timestamptz;
    v_resolve_due     timestamptz;
    v_metrics         jsonb;
    v_anomaly_ids     regclass := pg_get_serial_sequence('public.import_anomalies', 'id');
    v_first_merge     boolean := false;
begin
    if p_rows is null or jsonb_typeof(p_rows) <> 'array' then
        raise exception 'fn_projects_import_merge: rows must be a JSON array'
            using errcode = '22023';
    end if;

    perform public.fn_projects_import_lock(p_tenant_id);

    -- A staged batch without memoized metrics is merged for the first time: none of its
    -- misses can have been recorded yet, so the per-miss check below is skipped.
    select id, not (validation ? 'metrics') into v_staging_id, v_first_merge
      from staging_imports
     where tenant_id = p_tenant_id and batch_id = p_batch_id;
    v_first_merge := coalesce(v_first_merge, false);

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

    -- Memberships: the one rule (0011).
    perform fn_projects_membership_sync_table();
    insert into pg_temp.membership_sync
    select p_tenant_id, b.stage_application, b.partner_org, b.ds_username, b.rm_username
      from pg_temp.import_batch b;
    v_sync := fn_projects_sync_memberships(p_batch_id);

    -- Misses of this batch (the one rule, 0011); `fresh` unless this batch recorded it before.
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

    insert into pg_temp.import_batch_misses (row_index, project_key, anomaly_type, severity,
                                             excerpt, unknown_value, unknown_key, fresh)
    select b.row_index, b.stage_application, m.anomaly_type, m.severity, b.excerpt,
           m.unknown_value, fn_directory_key(m.unknown_value),
           v_first_merge
           or not exists (select 1 from import_anomalies ia
                        where ia.tenant_id = p_tenant_id and ia.batch_id = p_batch_id
                          and ia.row_index = b.row_index and ia.anomaly_type = m.anomaly_type)
      from pg_temp.import_batch b
     cross join lateral fn_import_anomaly_misses(
            b.delivery_partner, b.deployment_specialist, b.relationship_manager,
            b.rm_preferred_username, b.partner_org, b.ds_username, b.rm_username) m;
    get diagnostics v_anomalies = row_count;

    update pg_temp.import_batch_misses
       set anomaly_id = nextval(v_anomaly_ids)
     where fresh;
    get diagnostics v_new = row_count;

    if v_new > 0 then
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
        update import_anomalies ia
           set status = 'open', acknowledged_at = null, acknowledged_by = null,
               resolved_at = null
          from pg_temp.import_batch_misses a
         where a.reopened
           and ia.tenant_id = p_tenant_id and ia.problem_id = a.problem_id
           and ia.status <> 'open';

        insert into import_anomalies (id, tenant_id, batch_id, staging_id, row_index,
                                      project_key, anomaly_type, severity, payload_excerpt,
                                      correlation_id, problem_id, status, acknowledged_at,
                                      acknowledged_by)
        overriding system value
        select a.anomaly_id, p_tenant_id, p_batch_id, v_staging_id, a.row_index, a.project_key,
               a.anomaly_type, a.severity, a.excerpt, p_correlation_id, a.problem_id, a.status,
               a.acknowledged_at, a.acknowledged_by
          from pg_temp.import_batch_misses a
         where a.fresh;
    end if;

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
    ), occurrences as (
        update import_anomalies ia
           set status = 'resolved', resolved_at = now()
          from fixed f
         where ia.tenant_id = p_tenant_id and ia.problem_id = f.id
           and ia.status <> 'resolved'
        returning 1
    )
    select count(*) into v_resolved from occurrences;

    v_metrics := jsonb_build_object(
        'rows', v_rows,
        'inserted_projects', v_inserted,
        'updated_projects', v_updated,
        'unchanged_projects', v_rows - v_inserted - v_updated,
        'org_memberships_upserted', (v_sync ->> 'org_added')::integer,
        'user_memberships_upserted', (v_sync ->> 'user_added')::integer,
        'memberships_ended', (v_sync ->> 'org_ended')::integer
                             + (v_sync ->> 'user_ended')::integer,
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
$$;

-- ------------------------------------------------------------------ the backfill, on the rules

-- fn_projects_membership_backfill — as in 0006 (same parameter, same counts), on the shared
-- rules: recompute canonical values, memberships through fn_projects_sync_memberships, and
-- resolve (directory_fix, by 'system') every unresolved problem whose project no longer
-- misses that value (fn_import_anomaly_misses), with its occurrences. Occurrences without a
-- problem keep the 0006 rule (fn_import_anomaly_applies). anomalies_resolved counts
-- occurrence rows.
create or replace function public.fn_projects_membership_backfill(
    p_tenant_id text default null
) returns jsonb
    language plpgsql
    set search_path = public, pg_temp
    as $$
declare
    v_tenant      text;
    v_projects    integer;
    v_sync        jsonb;
    v_resolved    integer;
    v_loose       integer;
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

    perform fn_projects_membership_sync_table();
    insert into pg_temp.membership_sync
    select p.tenant_id, p.stage_application, p.partner_org, p.ds_username, p.rm_username
      from projects p
     where p_tenant_id is null or p.tenant_id = p_tenant_id;
    v_sync := fn_projects_sync_memberships(null);

    with fixed as (
        update import_problems pr
           set status = 'resolved', resolved_at = now(), resolved_by = 'system',
               resolution = 'directory_fix'
          from projects p
         where pr.tenant_id = p.tenant_id
           and pr.project_key = p.stage_application
           and pr.status <> 'resolved'
           and (p_tenant_id is null or p.tenant_id = p_tenant_id)
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
           and not fn_import_anomaly_applies(ia.anomaly_type, p)
        returning 1
    )
    select count(*) into v_loose from fixed;

    return jsonb_build_object(
        'projects_updated', v_projects,
        'org_memberships_added', (v_sync ->> 'org_added')::integer,
        'user_memberships_added', (v_sync ->> 'user_added')::integer,
        'org_memberships_ended', (v_sync ->> 'org_ended')::integer,
        'user_memberships_ended', (v_sync ->> 'user_ended')::integer,
        'memberships_ended', (v_sync ->> 'org_ended')::integer
                             + (v_sync ->> 'user_ended')::integer,
        'anomalies_resolved', v_resolved + v_loose);
end
$$;

-- ------------------------------------------------------------------ pause (quarantine)

create table public.tenant_events (
    tenant_id  text not null references public.tenants on delete cascade,
    id         bigint generated always as identity,
    at         timestamptz not null default now(),
    action     text not null check (action in ('pause', 'resume')),
    reason     text check (char_length(reason) <= 500),
    actor      text not null,
    primary key (tenant_id, id)
);
-- A tenant's pause history in order (and the cascade from a removed tenant).
create index tenant_events_tenant_at on public.tenant_events (tenant_id, at desc);

-- fn_tenant_pause — quarantine a tenant: its imports answer {"outcome": "paused"} and stage
-- nothing until fn_tenant_resume. Takes the tenant's import lock first, so an import in flight
-- finishes before the pause takes effect and none starts after. Pausing a paused tenant
-- changes nothing (changed: false). 22023 blank reason, P0002 unknown tenant.
-- Answers {tenant_id, paused, paused_at, paused_reason, paused_by, changed}.
create or replace function public.fn_tenant_pause(
    p_tenant_id  text,
    p_reason     text,
    p_actor      text default 'system'
) returns jsonb
    language plpgsql
    set search_path = public, pg_temp
    as $$
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
$$;

-- fn_tenant_resume — lift a pause; resuming a tenant that is not paused changes nothing.
-- P0002 unknown tenant. Answers {tenant_id, paused: false, changed}.
create or replace function public.fn_tenant_resume(
    p_tenant_id  text,
    p_actor      text default 'system'
) returns jsonb
    language plpgsql
    set search_path = public, pg_temp
    as $$
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
$$;

-- fn_projects_import_submit — as in 0003, plus the pause: after taking the tenant's lock (busy
-- first) and before the replay check, a paused tenant answers
-- {"outcome": "paused", "reason", "paused_at"} and nothing is staged. So a paused tenant's
-- replay is refused too: while paused, no answer claims its data was accepted.
create or replace function public.fn_projects_import_submit(
    p_tenant_id        text,
    p_source           text,
    p_batch_id         uuid,
    p_batch_checksum   text,
    p_checksum_version smallint,
    p_raw              jsonb,
    p_rows             jsonb,
    p_correlation_id   uuid,
    p_validation       jsonb
) returns jsonb
    language plpgsql
    set search_path = public, pg_temp
    as $$
declare
    v_staged   staging_imports%rowtype;
    v_tenant   tenants%rowtype;
    v_metrics  jsonb;
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
$$;

-- ------------------------------------------------------------------ freshness

-- fn_tenant_expected_at — the latest scheduled import time at or before p_now: p_schedule on
-- the wall clock of p_tz, on the ISO days p_days (the tenant's business days), looking back
-- at most a week.
create or replace function public.fn_tenant_expected_at(
    p_now       timestamptz,
    p_tz        text,
    p_schedule  time,
    p_days      integer[]
) returns timestamptz
    language sql stable
    as $$
    select max((d::date + p_schedule) at time zone p_tz)
      from generate_series(((p_now at time zone p_tz)::date - 7)::timestamp,
                           ((p_now at time zone p_tz)::date)::timestamp,
                           interval '1 day') as d
     where extract(isodow from d)::integer = any (p_days)
       and ((d::date + p_schedule) at time zone p_tz) <= p_now
    $$;

-- fn_tenant_last_success_at — a tenant's latest successful import: a request answered 200
-- (merged or replayed) or, for batches staged without the HTTP route, the staging time.
-- SECURITY DEFINER so operators reading vw_tenant_freshness see the time without being
-- allowed to read staged payloads; it answers one timestamp and nothing else, and null to a
-- user role without the operator claim (the service's own connection is the owner).
-- Indexes: import_requests_tenant_success and staging_imports_tenant_created.
create index import_requests_tenant_success
    on public.import_requests (tenant_id, created_at desc) where status = 200;
create index staging_imports_tenant_created
    on public.staging_imports (tenant_id, created_at desc);

create or replace function public.fn_tenant_last_success_at(p_tenant_id text)
    returns timestamptz
    language sql stable security definer
    set search_path = public, pg_temp
    as $$
    select greatest(
        (select max(r.created_at) from public.import_requests r
          where r.tenant_id = p_tenant_id and r.status = 200),
        (select max(s.created_at) from public.staging_imports s
          where s.tenant_id = p_tenant_id))
     where session_user = current_user or public.fn_is_operator()
    $$;

-- vw_tenant_freshness — per tenant: the last success, when today's batch was expected, and
-- `late`: now is past expected_at + schedule_grace_minutes, nothing succeeded since
-- expected_at, and the tenant already existed at expected_at. A paused tenant can still be
-- late; paused/paused_reason/paused_at say why (alerting skips paused tenants if it wants).
create view public.vw_tenant_freshness with (security_invoker = true) as
    select t.tenant_id, t.timezone, s.last_success_at, e.expected_at,
           coalesce(now() > e.expected_at + make_interval(mins => t.schedule_grace_minutes)
                    and (s.last_success_at is null or s.last_success_at < e.expected_at)
                    and t.created_at < e.expected_at, false) as late,
           t.paused_at is not null as paused, t.paused_reason, t.paused_at
      from public.tenants t
     cross join lateral (select public.fn_tenant_last_success_at(t.tenant_id)
                                as last_success_at) s
     cross join lateral (select public.fn_tenant_expected_at(now(), t.timezone,
                                                             t.schedule_time, t.business_days)
                                as expected_at) e;

-- ------------------------------------------------------------------ operator RPCs

-- Refuses filter values outside the vocabulary, naming the first bad one (22023).
create or replace function public.fn_problems_check_filters(
    p_anomaly_type text[], p_status text[], p_severity text[], p_limit integer)
    returns void
    language plpgsql immutable
    as $$
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
$$;

-- fn_anomalies_for_operator with the runbook's filters and a keyset cursor (see the header).
create or replace function public.fn_anomalies_for_operator(
    p_window_hours      integer,
    p_tenant            text,
    p_severity          text[],
    p_limit             integer,
    p_anomaly_type      text[],
    p_status            text[] default null,
    p_batch_id          uuid[] default null,
    p_project_key       text default null,
    p_after_created_at  timestamptz default null,
    p_after_id          bigint default null
) returns setof public.import_anomalies
    language plpgsql stable
    as $$
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
$$;

create or replace function public.fn_problems_for_operator(
    p_tenant              text default null,
    p_anomaly_type        text[] default null,
    p_status              text[] default null,
    p_severity            text[] default null,
    p_batch_id            uuid[] default null,
    p_project_key         text default null,
    p_overdue             boolean default null,
    p_search              text default null,
    p_after_last_seen_at  timestamptz default null,
    p_after_id            bigint default null,
    p_limit               integer default 100
) returns setof public.import_problems
    language plpgsql stable
    as $$
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
$$;

create or replace function public.fn_problem_get(p_id bigint)
    returns setof public.import_problems
    language plpgsql stable
    as $$
begin
    perform public.fn_require_operator();
    return query select pr.* from public.import_problems pr where pr.id = p_id;
    if not found then
        raise exception 'no problem with id %', p_id using errcode = 'no_data_found';
    end if;
end
$$;

create or replace function public.fn_problem_occurrences(p_id bigint, p_limit integer default 100)
    returns setof public.import_anomalies
    language plpgsql stable
    as $$
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
$$;

create or replace function public.fn_problem_events(p_id bigint)
    returns setof public.import_problem_events
    language plpgsql stable
    as $$
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
$$;

-- fn_problem_set_status — the lifecycle on a problem (see the header). The problem's
-- occurrences follow its status. SECURITY DEFINER: operators need no write grant on the tables.
create or replace function public.fn_problem_set_status(
    p_id      bigint,
    p_status  text,
    p_note    text default null
) returns setof public.import_problems
    language plpgsql volatile security definer
    set search_path = public, pg_temp
    as $$
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
$$;

-- fn_anomaly_set_status (0005) keeps its signature and answer; an anomaly with a problem is
-- acknowledged/resolved through its problem (fn_problem_set_status), so every occurrence of
-- that problem changes with it. SECURITY DEFINER like the 0010 lifecycle RPC.
create or replace function public.fn_anomaly_set_status(p_id bigint, p_status text)
    returns table (id bigint, tenant_id text, status text, acknowledged_at timestamptz,
                   acknowledged_by text, resolved_at timestamptz)
    language plpgsql volatile security definer
    set search_path = public, pg_temp
    as $$
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

    select a.status, a.problem_id into v_current, v_problem
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
$$;

-- fn_problem_stats — see the header. Open problems and new occurrences are counted apart;
-- a resolved problem is never counted.
create or replace function public.fn_problem_stats(p_window_hours integer default 24)
    returns table (tenant_id text, anomaly_type text, severity text,
                   open_problems bigint, acknowledged_problems bigint, new_problems bigint,
                   occurrences bigint, overdue_ack bigint, overdue_resolve bigint)
    language plpgsql stable
    as $$
#variable_conflict use_column
declare
    v_since timestamptz;
begin
    perform public.fn_require_operator();
    perform public.fn_anomalies_check_window(p_window_hours);
    v_since := now() - make_interval(hours => p_window_hours);
    return query
        with p as (
            select pr.tenant_id, pr.anomaly_type, pr.severity,
                   count(*) filter (where pr.status = 'open') as open_problems,
                   count(*) filter (where pr.status = 'acknowledged') as acknowledged_problems,
                   count(*) filter (where pr.first_seen_at >= v_since) as new_problems,
                   count(*) filter (where pr.status = 'open' and pr.ack_due_at < now())
                       as overdue_ack,
                   count(*) filter (where pr.resolve_due_at < now()) as overdue_resolve
              from public.import_problems pr
             where pr.status <> 'resolved'
             group by pr.tenant_id, pr.anomaly_type, pr.severity
        ), o as (
            select a.tenant_id, a.anomaly_type, a.severity, count(*) as occurrences
              from public.import_anomalies a
             where a.created_at >= v_since
             group by a.tenant_id, a.anomaly_type, a.severity
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
$$;

-- ------------------------------------------------------------------ retention

alter table public.import_retention_stats
    add column import_requests_count   bigint not null default 0,
    add column import_problems_count   bigint not null default 0,
    add column alert_deliveries_count  bigint not null default 0;

-- fn_cleanup_import_data — as in 0006 (same signature, chunking and answer keys), and also:
--   * import_requests older than p_imports_days (import_requests_deleted),
--   * alert_deliveries older than p_imports_days when that table exists (the alert delivery
--     log, created by a later migration with at least tenant_id, id and created_at;
--     alert_deliveries_deleted, 0 while it does not exist),
--   * resolved problems with no occurrence left (their last_seen_at is older than the anomaly
--     cutoff and anomaly retention removed every occurrence) with their events
--     (import_problems_deleted). Open and acknowledged problems are kept whatever their age.
-- Each is counted into import_retention_stats by the day its rows were created (problems:
-- first seen).
create or replace function public.fn_cleanup_import_data(
    p_imports_days    integer default 60,
    p_anomalies_days  integer default 90,
    p_chunk_size      integer default 5000,
    p_max_chunks      integer default null
) returns jsonb
    language plpgsql
    set search_path = public, pg_temp
    as $$
declare
    v_imports_cutoff    timestamptz;
    v_anomalies_cutoff  timestamptz;
    v_imports           bigint := 0;
    v_anomalies         bigint := 0;
    v_requests          bigint := 0;
    v_problems          bigint := 0;
    v_deliveries        bigint := 0;
    v_chunk_imports     integer;
    v_chunk_anomalies   integer;
    v_chunk_requests    integer;
    v_chunk_problems    integer;
    v_chunk_deliveries  integer;
    v_has_deliveries    boolean := to_regclass('public.alert_deliveries') is not null;
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

        with doomed as (
            select tenant_id, id
              from import_requests
             where created_at < v_imports_cutoff
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
        select count(*) into v_chunk_requests from deleted;

        with doomed as (
            select pr.tenant_id, pr.id
              from import_problems pr
             where pr.status = 'resolved'
               and pr.last_seen_at < v_anomalies_cutoff
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
        select count(*) into v_chunk_problems from deleted;

        v_chunk_deliveries := 0;
        if v_has_deliveries then
            execute $q$
                with doomed as (
                    select tenant_id, id
                      from public.alert_deliveries
                     where created_at < $1
                     order by created_at
                     limit $2
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
                select count(*) from deleted
            $q$ into v_chunk_deliveries using v_imports_cutoff, p_chunk_size;
        end if;

        v_chunks := v_chunks + 1;
        v_anomalies := v_anomalies + v_chunk_anomalies;
        v_imports := v_imports + v_chunk_imports;
        v_requests := v_requests + v_chunk_requests;
        v_problems := v_problems + v_chunk_problems;
        v_deliveries := v_deliveries + v_chunk_deliveries;
        v_more := v_chunk_anomalies = p_chunk_size or v_chunk_imports = p_chunk_size
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
$$;

-- ------------------------------------------------------------------ privileges

alter table public.import_problems enable row level security;
alter table public.import_problem_events enable row level security;
alter table public.tenant_events enable row level security;

create policy operators_read on public.import_problems
    for select to authenticated using ((select public.fn_is_operator()));
create policy operators_read on public.import_problem_events
    for select to authenticated using ((select public.fn_is_operator()));
create policy operators_read on public.tenant_events
    for select to authenticated using ((select public.fn_is_operator()));

-- Writing functions are for the service's own role only; the lifecycle RPCs are granted to
-- operators below. PUBLIC loses EXECUTE on everything new, then roles get what they need.
revoke execute on function
    public.fn_business_time_add(timestamptz, numeric, text, time, time, integer[]),
    public.fn_business_time_add(timestamptz, numeric, text),
    public.fn_problem_due_times(text, timestamptz),
    public.fn_tenant_expected_at(timestamptz, text, time, integer[]),
    public.fn_tenant_last_success_at(text),
    public.fn_problems_check_filters(text[], text[], text[], integer),
    public.fn_anomalies_for_operator(integer, text, text[], integer, text[], text[], uuid[],
                                     text, timestamptz, bigint),
    public.fn_problems_for_operator(text, text[], text[], text[], uuid[], text, boolean, text,
                                    timestamptz, bigint, integer),
    public.fn_problem_get(bigint),
    public.fn_problem_occurrences(bigint, integer),
    public.fn_problem_events(bigint),
    public.fn_problem_set_status(bigint, text, text),
    public.fn_anomaly_set_status(bigint, text),
    public.fn_problem_stats(integer),
    public.fn_tenant_pause(text, text, text),
    public.fn_tenant_resume(text, text),
    public.fn_projects_import_merge(text, text, uuid, jsonb, uuid),
    public.fn_projects_import_submit(text, text, uuid, text, smallint, jsonb, jsonb, uuid, jsonb),
    public.fn_projects_membership_backfill(text),
    public.fn_cleanup_import_data(integer, integer, integer, integer)
  from public;

do $$
begin
    revoke all on public.import_problems, public.import_problem_events, public.tenant_events
      from anon, authenticated;
    grant select on public.import_problems, public.import_problem_events, public.tenant_events,
                    public.vw_tenant_freshness
       to authenticated, service_role;
    revoke execute on function
        public.fn_tenant_pause(text, text, text),
        public.fn_tenant_resume(text, text),
        public.fn_projects_import_merge(text, text, uuid, jsonb, uuid),
        public.fn_projects_import_submit(text, text, uuid, text, smallint, jsonb, jsonb, uuid,
                                         jsonb),
        public.fn_projects_membership_backfill(text),
        public.fn_cleanup_import_data(integer, integer, integer, integer)
      from anon, authenticated;
    grant execute on function
        public.fn_tenant_pause(text, text, text),
        public.fn_tenant_resume(text, text)
       to service_role;
    grant execute on function
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
        public.fn_anomaly_set_status(bigint, text),
        public.fn_problem_stats(integer)
       to authenticated, service_role;
exception
    when undefined_object or insufficient_privilege then null;
end
$$;
