-- Row-level security policies of public.import_batch_decisions (RLS itself is switched on with
-- the table). Operators read decisions through fn_import_batch_for_operator only.
do $$
begin
    drop policy if exists service_role_all on public.import_batch_decisions;
    create policy service_role_all on public.import_batch_decisions
        for all to service_role using (true) with check (true);
exception
    when undefined_object then null;  -- no service_role on this server
end
$$;
