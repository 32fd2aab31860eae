-- Row-level security policies of public.import_problem_rollups (RLS itself is switched on where the table is
-- created, in its migration): operators read it like the table it summarizes; service_role
-- reads it; only the triggers' owner-run functions write it.
do $$
begin
    drop policy if exists operators_read on public.import_problem_rollups;
    create policy operators_read on public.import_problem_rollups
        for select to authenticated
        using ((select public.fn_is_operator()));
exception
    when undefined_object then null;  -- no authenticated role on this server
end
$$;

do $$
begin
    drop policy if exists service_role_read on public.import_problem_rollups;
    create policy service_role_read on public.import_problem_rollups
        for select to service_role using (true);
exception
    when undefined_object then null;  -- no service_role on this server
end
$$;
