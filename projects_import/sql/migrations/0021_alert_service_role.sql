-- 0021 — The service_role rules of 0010/0015 for the alert tables of 0020. service_role runs
-- fn_cleanup_import_data, which trims alert_deliveries, and may run the alert evaluation as a
-- job (fn_alert_evaluate and the delivery log's writes); it never needs TRUNCATE, REFERENCES
-- or TRIGGER. anon and authenticated keep what 0020 gave them (operators read through RLS).
do $$
begin
    if not exists (select 1 from pg_roles where rolname = 'service_role') then
        return;
    end if;
    revoke all on public.alert_windows, public.alert_deliveries from service_role;
    grant select, insert, update, delete on public.alert_windows, public.alert_deliveries
       to service_role;
    grant usage, select on sequence public.alert_deliveries_id_seq to service_role;
    create policy service_role_all on public.alert_windows for all to service_role
        using (true) with check (true);
    create policy service_role_all on public.alert_deliveries for all to service_role
        using (true) with check (true);
    grant execute on function
        public.fn_alert_evaluate(integer, integer, numeric, integer, integer, text, text,
                                 timestamptz)
       to service_role;
end
$$;
