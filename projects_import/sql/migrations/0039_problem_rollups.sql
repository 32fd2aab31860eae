-- 0039 — Operator statistics from rollups kept by the writes (issue: performance).
--
-- fn_problem_stats, fn_anomalies_stats, vw_import_anomalies_stats_24h (the overview) and
-- /metrics counted every unresolved problem and every occurrence of the window on each call.
-- Two rollup tables now hold those counts, kept by statement-level AFTER triggers with
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

-- ------------------------------------------------------------------ functions

-- fn_import_problem_rollups_apply — add signed counts (rows of the rollup's type, `problems`
-- the delta) to import_problem_rollups, in key order, and drop the rows that reach zero.
create or replace function public.fn_import_problem_rollups_apply(
    p_delta public.import_problem_rollups[]
) returns void
language plpgsql
volatile
security definer
set search_path = public, pg_temp
as $$
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

    delete from public.import_problem_rollups r
     where r.problems = 0
       and (r.tenant_id, r.anomaly_type, r.severity, r.status, r.clock, r.hour) in
           (select d.tenant_id, d.anomaly_type, d.severity, d.status, d.clock, d.hour
              from unnest(p_delta) d);
end
$$;

-- fn_import_problem_rollups_trigger — the statement's rows (NEW TABLE minus OLD TABLE; an
-- update counts only the problems whose status, type, severity or clocks changed) as signed
-- rollup rows.
create or replace function public.fn_import_problem_rollups_trigger()
returns trigger
language plpgsql
security definer
set search_path = public, pg_temp
as $$
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
$$;

-- fn_import_anomaly_rollups_apply — add signed counts to import_anomaly_rollups in key order
-- and drop the rows that reach zero.
create or replace function public.fn_import_anomaly_rollups_apply(
    p_delta public.import_anomaly_rollups[]
) returns void
language plpgsql
volatile
security definer
set search_path = public, pg_temp
as $$
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
$$;

-- fn_import_anomaly_rollups_trigger — the statement's occurrences as signed rollup rows: new
-- rows count +1, old rows -1, aggregated per key, so an update that changes nothing counted
-- cancels out (no join of the transition tables, whose size the planner does not know).
create or replace function public.fn_import_anomaly_rollups_trigger()
returns trigger
language plpgsql
security definer
set search_path = public, pg_temp
as $$
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
$$;

-- ------------------------------------------------------------------ triggers and seed

lock table public.import_problems, public.import_anomalies in share row exclusive mode;

create trigger import_problems_rollups_insert after insert on public.import_problems
    referencing new table as new_rows
    for each statement execute function public.fn_import_problem_rollups_trigger();
create trigger import_problems_rollups_update after update on public.import_problems
    referencing old table as old_rows new table as new_rows
    for each statement execute function public.fn_import_problem_rollups_trigger();
create trigger import_problems_rollups_delete after delete on public.import_problems
    referencing old table as old_rows
    for each statement execute function public.fn_import_problem_rollups_trigger();

create trigger import_anomalies_rollups_insert after insert on public.import_anomalies
    referencing new table as new_rows
    for each statement execute function public.fn_import_anomaly_rollups_trigger();
create trigger import_anomalies_rollups_update after update on public.import_anomalies
    referencing old table as old_rows new table as new_rows
    for each statement execute function public.fn_import_anomaly_rollups_trigger();
create trigger import_anomalies_rollups_delete after delete on public.import_anomalies
    referencing old table as old_rows
    for each statement execute function public.fn_import_anomaly_rollups_trigger();

insert into public.import_problem_rollups
       (tenant_id, anomaly_type, severity, status, clock, hour, problems)
select p.tenant_id, p.anomaly_type, p.severity, p.status, c.clock,
       date_bin('1 hour', c.at, timestamptz '2000-01-01Z'), count(*)
  from public.import_problems p
  cross join lateral (values
      ('first_seen', p.first_seen_at),
      ('ack_due', case when p.status = 'open' then p.ack_due_at end),
      ('resolve_due', p.resolve_due_at),
      ('overdue', least(case when p.status = 'open' then p.ack_due_at end,
                        p.resolve_due_at))) c(clock, at)
 where p.status <> 'resolved' and c.at is not null
 group by 1, 2, 3, 4, 5, 6;

insert into public.import_anomaly_rollups
       (tenant_id, anomaly_type, severity, created_at, occurrences, unresolved)
select tenant_id, anomaly_type, severity, created_at, count(*),
       count(*) filter (where status <> 'resolved')
  from public.import_anomalies
 group by 1, 2, 3, 4;

-- ------------------------------------------------------------------ readers

-- fn_anomalies_stats — as in 0005: occurrences of the window by tenant, type and severity,
-- summed from import_anomaly_rollups (exact: its rows are keyed by the occurrences' created_at).
create or replace function public.fn_anomalies_stats(p_window_hours integer default 24)
returns table (tenant_id text, anomaly_type text, severity text, count bigint,
               unresolved bigint, last_seen_at timestamptz)
language plpgsql
stable
set search_path = public, pg_temp
as $$
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
$$;

-- fn_problem_stats — as in 0012, from the rollups: open and acknowledged problems, new ones
-- (first seen in the window), the window's occurrences, overdue clocks; each clock's edge hour
-- counted from the partial indexes on import_problems.
create or replace function public.fn_problem_stats(p_window_hours integer default 24)
returns table (tenant_id text, anomaly_type text, severity text, open_problems bigint,
               acknowledged_problems bigint, new_problems bigint, occurrences bigint,
               overdue_ack bigint, overdue_resolve bigint)
language plpgsql
stable
set search_path = public, pg_temp
as $$
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
$$;

-- fn_problem_metrics — /metrics: unresolved problems by tenant, type and severity: open,
-- acknowledged, and past an SLA clock (open past ack_due_at, or past resolve_due_at).
create or replace function public.fn_problem_metrics()
returns table (tenant_id text, anomaly_type text, severity text, open integer,
               acknowledged integer, overdue integer)
language sql
stable
set search_path = public, pg_temp
as $$
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
$$;

-- vw_import_anomalies_stats_24h — the overview's counts (0005), from the rollups;
-- security_invoker, so RLS applies as before.
create or replace view public.vw_import_anomalies_stats_24h with (security_invoker = true) as
select r.tenant_id, r.anomaly_type, r.severity, sum(r.occurrences)::bigint as count,
       sum(r.unresolved)::bigint as unresolved, max(r.created_at) as last_seen_at
  from public.import_anomaly_rollups r
 where r.created_at >= now() - interval '24 hours'
 group by 1, 2, 3
having sum(r.occurrences) > 0;

-- ------------------------------------------------------------------ privileges

-- Read like the tables they summarize: operators (RLS) and service_role; written only by the
-- triggers' definer functions.
alter table public.import_problem_rollups enable row level security;
alter table public.import_anomaly_rollups enable row level security;
create policy operators_read on public.import_problem_rollups
    for select to authenticated using ((select public.fn_is_operator()));
create policy operators_read on public.import_anomaly_rollups
    for select to authenticated using ((select public.fn_is_operator()));

revoke all on public.import_problem_rollups, public.import_anomaly_rollups from public;
revoke execute on function
    public.fn_import_problem_rollups_apply(public.import_problem_rollups[]),
    public.fn_import_problem_rollups_trigger(),
    public.fn_import_anomaly_rollups_apply(public.import_anomaly_rollups[]),
    public.fn_import_anomaly_rollups_trigger(),
    public.fn_problem_metrics()
  from public;

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
        create policy service_role_read on public.import_problem_rollups
            for select to service_role using (true);
        create policy service_role_read on public.import_anomaly_rollups
            for select to service_role using (true);
        grant execute on function public.fn_problem_metrics()
           to service_role;
    end if;
end
$$;
