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

select public.fn_privileges_set(
    'function public.fn_import_anomaly_rollups_apply(public.import_anomaly_rollups[])',
    'execute', variadic '{}'::text[]);
