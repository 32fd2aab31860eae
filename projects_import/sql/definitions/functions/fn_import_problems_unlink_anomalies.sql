-- A deleted problem (retention removes resolved problems without occurrences; a removed
-- tenant) leaves any occurrence that still names it without a link.
create or replace function public.fn_import_problems_unlink_anomalies() returns trigger
    language plpgsql
    set search_path = public, pg_temp
    as $$
begin
    update import_anomalies a
       set problem_id = null
      from deleted_problems d
     where a.tenant_id = d.tenant_id
       and a.problem_id = d.id;
    return null;
end
$$;

select public.fn_privileges_set(
    'function public.fn_import_problems_unlink_anomalies()',
    'execute', variadic '{}'::text[]);
