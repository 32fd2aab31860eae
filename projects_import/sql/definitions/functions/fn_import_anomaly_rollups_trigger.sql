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

select public.fn_privileges_set(
    'function public.fn_import_anomaly_rollups_trigger()',
    'execute', variadic '{}'::text[]);

-- The triggers on import_anomalies. The first time (no trigger yet) the table is locked and
-- import_anomaly_rollups is counted from its rows in the same transaction, so the rollup is
-- exact from then on; later applications replace the triggers in place (create or replace),
-- which misses no write.
do $$
begin
    if not exists (select 1 from pg_trigger
                    where tgrelid = 'public.import_anomalies'::regclass
                      and tgname = 'import_anomalies_rollups_insert') then
        lock table public.import_anomalies in share row exclusive mode;
        delete from public.import_anomaly_rollups;
        insert into public.import_anomaly_rollups
               (tenant_id, anomaly_type, severity, created_at, occurrences, unresolved)
        select tenant_id, anomaly_type, severity, created_at, count(*),
               count(*) filter (where status <> 'resolved')
          from public.import_anomalies
         group by 1, 2, 3, 4;
    end if;
end
$$;

create or replace trigger import_anomalies_rollups_insert
    after insert on public.import_anomalies
    referencing new table as new_rows
    for each statement execute function public.fn_import_anomaly_rollups_trigger();
create or replace trigger import_anomalies_rollups_update
    after update on public.import_anomalies
    referencing old table as old_rows new table as new_rows
    for each statement execute function public.fn_import_anomaly_rollups_trigger();
create or replace trigger import_anomalies_rollups_delete
    after delete on public.import_anomalies
    referencing old table as old_rows
    for each statement execute function public.fn_import_anomaly_rollups_trigger();
