-- A deleted staged batch (retention, a removed tenant) leaves its occurrences without a link,
-- in one statement per deleting statement.
create or replace function public.fn_staging_imports_unlink_anomalies() returns trigger
    language plpgsql
    set search_path = public, pg_temp
    as $$
begin
    update import_anomalies a
       set staging_id = null
      from deleted_staging d
     where a.tenant_id = d.tenant_id
       and a.batch_id = d.batch_id
       and a.staging_id = d.id;
    return null;
end
$$;

select public.fn_privileges_set(
    'function public.fn_staging_imports_unlink_anomalies()',
    'execute', variadic '{}'::text[]);
