-- fn_schedule_import_retention — (re)schedule `imports-anomalies-retention` in pg_cron:
-- unschedule any job of that name, then schedule it anew; returns the job id, or null (and
-- does nothing) when the database does not have the pg_cron extension. The migration calls it
-- with the runbook's defaults; run it again after installing pg_cron later.
create or replace function public.fn_schedule_import_retention(
    p_schedule  text default '10 3 * * *',
    p_command   text default 'select public.fn_cleanup_import_data();'
) returns bigint
    language plpgsql
    set search_path = public, pg_temp
    as $$
declare
    v_jobid bigint;
begin
    if not exists (select 1 from pg_extension where extname = 'pg_cron') then
        return null;
    end if;
    execute 'select cron.unschedule(jobid) from cron.job where jobname = $1'
        using 'imports-anomalies-retention';
    execute 'select cron.schedule($1, $2, $3)'
        into v_jobid
        using 'imports-anomalies-retention', p_schedule, p_command;
    return v_jobid;
end
$$;

select public.fn_privileges_set(
    'function public.fn_schedule_import_retention(text, text)',
    'execute', variadic '{}'::text[]);
