-- Row-level security policies of public.alert_deliveries (RLS itself is switched on where the table
-- is created, in its migration); each is dropped and created again, so applying is idempotent.
do $$
begin
    drop policy if exists operators_read on public.alert_deliveries;
    create policy operators_read on public.alert_deliveries
        for select to authenticated
        using ((select public.fn_is_operator()));
exception
    when undefined_object then null;  -- no authenticated role on this server
end
$$;

do $$
begin
    drop policy if exists service_role_all on public.alert_deliveries;
    create policy service_role_all on public.alert_deliveries
        for all to service_role using (true) with check (true);
exception
    when undefined_object then null;  -- no service_role on this server
end
$$;
