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

select public.fn_privileges_set(
    'function public.fn_import_problem_rollups_trigger()',
    'execute', variadic '{}'::text[]);

-- The triggers on import_problems. The first time (no trigger yet) the table is locked and
-- import_problem_rollups is counted from its rows in the same transaction, so the rollup is
-- exact from then on; later applications replace the triggers in place (create or replace),
-- which misses no write.
do $$
begin
    if not exists (select 1 from pg_trigger
                    where tgrelid = 'public.import_problems'::regclass
                      and tgname = 'import_problems_rollups_insert') then
        lock table public.import_problems in share row exclusive mode;
        delete from public.import_problem_rollups;
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
    end if;
end
$$;

create or replace trigger import_problems_rollups_insert
    after insert on public.import_problems
    referencing new table as new_rows
    for each statement execute function public.fn_import_problem_rollups_trigger();
create or replace trigger import_problems_rollups_update
    after update on public.import_problems
    referencing old table as old_rows new table as new_rows
    for each statement execute function public.fn_import_problem_rollups_trigger();
create or replace trigger import_problems_rollups_delete
    after delete on public.import_problems
    referencing old table as old_rows
    for each statement execute function public.fn_import_problem_rollups_trigger();
