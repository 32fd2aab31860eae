-- fn_import_retention_cron_job — the pg_cron job `imports-anomalies-retention` of this
-- database (jobid, schedule, command, active), or null when pg_cron is absent, has no such
-- job, or does not let this role see it. The service's scheduler stands down when it exists.
create or replace function public.fn_import_retention_cron_job() returns jsonb
    language plpgsql stable
    set search_path = public, pg_temp
    as $$
declare
    v_job jsonb;
begin
    if to_regclass('cron.job') is null then
        return null;
    end if;
    execute $q$
        select jsonb_build_object('jobid', jobid, 'schedule', schedule,
                                  'command', command, 'active', active)
          from cron.job
         where jobname = $1 and database = current_database()
         order by jobid desc
         limit 1
    $q$ into v_job using 'imports-anomalies-retention';
    return v_job;
exception
    when insufficient_privilege or undefined_column then
        return null;
end
$$;

select public.fn_privileges_set(
    'function public.fn_import_retention_cron_job()',
    'execute', 'service_role');
