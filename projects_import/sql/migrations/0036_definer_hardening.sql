-- 0036 — No function is executable by PUBLIC unless granted on purpose.
--
-- PostgreSQL grants EXECUTE on every new function to PUBLIC unless the creating role's *global*
-- default privileges say otherwise; 0010's `in schema public` form could not remove that grant,
-- so a function created without its own revoke (fn_projects_resolve_canonical_batch was one) is
-- callable by anon. Here the migrating role's global default revokes it, in every schema, and
-- every function of ours in public loses PUBLIC's EXECUTE (extension members keep theirs). The
-- definition files then grant each function to the roles it names (fn_privileges_set).
--
-- The definer fix of the same release (the backfill no longer fills pg_temp.membership_sync;
-- fn_projects_sync_memberships_rows takes the rows as arrays) is in the definition files.

alter default privileges revoke execute on functions from public;

do $$
declare
    v_function regprocedure;
begin
    for v_function in
        select p.oid::regprocedure
          from pg_proc p join pg_namespace n on n.oid = p.pronamespace
         where n.nspname = 'public'
           and not exists (select 1 from pg_depend d
                            where d.classid = 'pg_proc'::regclass and d.objid = p.oid
                              and d.deptype = 'e')
    loop
        execute format('revoke execute on routine %s from public', v_function);
    end loop;
end
$$;
