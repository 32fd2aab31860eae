-- Row-level security policies of public.ds_directory (RLS itself is switched on where the table
-- is created, in its migration); each is dropped and created again, so applying is idempotent.
do $$
begin
    drop policy if exists operators_read on public.ds_directory;
    create policy operators_read on public.ds_directory
        for select to authenticated
        using ((select public.fn_is_operator()));
exception
    when undefined_object then null;  -- no authenticated role on this server
end
$$;

do $$
begin
    drop policy if exists service_role_all on public.ds_directory;
    create policy service_role_all on public.ds_directory
        for all to service_role using (true) with check (true);
exception
    when undefined_object then null;  -- no service_role on this server
end
$$;
