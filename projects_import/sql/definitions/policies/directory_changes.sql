-- Row-level security policies of public.directory_changes (RLS itself is switched on where the table
-- is created, in its migration); each is dropped and created again, so applying is idempotent.
do $$
begin
    drop policy if exists operators_read on public.directory_changes;
    create policy operators_read on public.directory_changes
        for select to authenticated
        using ((select public.fn_is_operator()));
exception
    when undefined_object then null;  -- no authenticated role on this server
end
$$;

do $$
begin
    drop policy if exists service_role_read on public.directory_changes;
    create policy service_role_read on public.directory_changes
        for select to service_role using (true);
exception
    when undefined_object then null;  -- no service_role on this server
end
$$;
