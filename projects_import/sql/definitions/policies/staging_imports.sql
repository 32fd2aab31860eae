-- Row-level security policies of public.staging_imports (RLS itself is switched on where the table
-- is created, in its migration); each is dropped and created again, so applying is idempotent.
do $$
begin
    drop policy if exists service_role_all on public.staging_imports;
    create policy service_role_all on public.staging_imports
        for all to service_role using (true) with check (true);
exception
    when undefined_object then null;  -- no service_role on this server
end
$$;
