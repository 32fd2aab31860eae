-- fn_alert_evaluate_windows — alert evaluation step: each alerting tenant's window slot is
-- recorded in alert_windows (the highest figures of the slot kept), and slots older than a
-- week are forgotten: consecutive windows are counted from these.
create or replace function public.fn_alert_evaluate_windows(
    p_slot timestamptz, p_window_hours integer, p_now timestamptz)
    returns void
    language plpgsql
    set search_path = public, pg_temp
    as $$
begin
    insert into public.alert_windows as w
           (tenant_id, window_slot, window_hours, occurrences, errors, overdue)
    select e.tenant_id, p_slot, p_window_hours, e.occurrences, e.errors, e.overdue
      from pg_temp.alert_evaluation e
     where e.alerting
    on conflict (tenant_id, window_slot) do update
       set occurrences = greatest(w.occurrences, excluded.occurrences),
           errors = greatest(w.errors, excluded.errors),
           overdue = greatest(w.overdue, excluded.overdue),
           evaluated_at = now();
    -- alert_windows only answers "the last few slots": a week is plenty
    delete from public.alert_windows w where w.window_slot < p_now - interval '7 days';
end
$$;

select public.fn_privileges_set(
    'function public.fn_alert_evaluate_windows(timestamptz, integer, timestamptz)',
    'execute', 'service_role');
