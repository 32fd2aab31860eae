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

    if exists (select 1 from unnest(p_delta) d where d.problems < 0) then
        delete from public.import_problem_rollups r
         where r.problems = 0
           and (r.tenant_id, r.anomaly_type, r.severity, r.status, r.clock, r.hour) in
               (select d.tenant_id, d.anomaly_type, d.severity, d.status, d.clock, d.hour
                  from unnest(p_delta) d where d.problems < 0);
    end if;
end
$$;

select public.fn_privileges_set(
    'function public.fn_import_problem_rollups_apply(public.import_problem_rollups[])',
    'execute', variadic '{}'::text[]);
