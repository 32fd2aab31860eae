-- 0039 — Operator statistics from rollups kept by the writes (issue: performance).
--
-- fn_problem_stats, fn_anomalies_stats, vw_import_anomalies_stats_24h (the overview) and
-- /metrics counted every unresolved problem and every occurrence of the window on each call.
-- Two rollup tables (this migration) now hold those counts, kept by statement-level AFTER
-- triggers (created with their functions in sql/definitions/functions/) with
-- transition tables on import_problems and import_anomalies, so every writer (the merge, the
-- problem lifecycle, directory-fix backfill, retention, a tenant's cascade delete) keeps them
-- in its own transaction without being edited: exact at every commit.
--
--   * import_problem_rollups: unresolved problems by (tenant, type, severity, status) and, per
--     "clock", by the hour the clock falls in: first_seen (new problems), ack_due (open only),
--     resolve_due, and overdue = least(ack_due if open, resolve_due) (what /metrics counts).
--     Resolved problems are not held (no statistic counts them).
--   * import_anomaly_rollups: occurrences by (tenant, type, severity, created_at), with the
--     unresolved ones. An import writes all its occurrences at one instant (its transaction's
--     now()), so this holds a few rows per batch, and a window sums them exactly, with no edge
--     to count from import_anomalies. (Hourly rows were tried first: a window's edge hour can
--     hold a tenant's whole daily batch, 56,000 occurrences in the benchmark's history, and
--     counting it from the index cost 80 ms a call under load.)
--
-- (No CHECK on the counts: PostgreSQL checks an upsert's proposed row, a signed delta, before
-- it finds the conflict; tests/integration/test_rollups.py compares them with full counts.)
-- An hour is date_bin('1 hour', t, timestamptz '2000-01-01Z'): the UTC hour, whatever the
-- session's TimeZone (written out, not wrapped in a function, so it stays inlined).
-- Problem readers add each clock's full hours from the rollups to its edge hour counted
-- exactly from import_problems' partial indexes (below), so the answers are those of the full
-- counts.
-- Each trigger aggregates its statement's rows and upserts the totals in key order (tenant
-- first), so concurrent writers of several tenants never wait on each other's rows and take
-- shared rows in one order; rows that fall to zero are deleted.

-- ------------------------------------------------------------------ tables

create table public.import_problem_rollups (
    tenant_id    text not null,
    anomaly_type text not null,
    severity     text not null,
    status       text not null check (status in ('open', 'acknowledged')),
    clock        text not null
                 check (clock in ('first_seen', 'ack_due', 'resolve_due', 'overdue')),
    hour         timestamptz not null,
    problems     bigint not null,
    primary key (tenant_id, anomaly_type, severity, status, clock, hour)
);
create index import_problem_rollups_clock_hour
    on public.import_problem_rollups (clock, hour);

create table public.import_anomaly_rollups (
    tenant_id    text not null,
    anomaly_type text not null,
    severity     text not null,
    created_at   timestamptz not null,
    occurrences  bigint not null,
    unresolved   bigint not null,
    primary key (tenant_id, anomaly_type, severity, created_at)
);
create index import_anomaly_rollups_created on public.import_anomaly_rollups (created_at);

-- The edge hour of each clock, counted exactly.
create index import_problems_unresolved_first_seen
    on public.import_problems (first_seen_at) where status <> 'resolved';
create index import_problems_open_ack_due
    on public.import_problems (ack_due_at) where status = 'open';
create index import_problems_unresolved_resolve_due
    on public.import_problems (resolve_due_at) where status <> 'resolved';
create index import_problems_unresolved_due
    on public.import_problems
       (least(case when status = 'open' then ack_due_at end, resolve_due_at))
    where status <> 'resolved';

-- ------------------------------------------------------------------ privileges

-- Read like the tables they summarize (policies in definitions/policies/), written only by the
-- triggers' owner-run functions (definitions/functions/fn_import_*_rollups_*.sql, which also
-- create the triggers and count the rollups from the existing rows, under a lock, the first
-- time: a trigger needs its function, and functions are defined after the migrations).
alter table public.import_problem_rollups enable row level security;
alter table public.import_anomaly_rollups enable row level security;
revoke all on public.import_problem_rollups, public.import_anomaly_rollups from public;

do $$
begin
    if exists (select 1 from pg_roles where rolname = 'authenticated') then
        revoke all on public.import_problem_rollups, public.import_anomaly_rollups
          from anon, authenticated;
        grant select on public.import_problem_rollups, public.import_anomaly_rollups
           to authenticated;
    end if;
    if exists (select 1 from pg_roles where rolname = 'service_role') then
        revoke all on public.import_problem_rollups, public.import_anomaly_rollups
          from service_role;
        grant select on public.import_problem_rollups, public.import_anomaly_rollups
           to service_role;
    end if;
end
$$;
