-- The migrating role's default privileges, in every schema: no EXECUTE for PUBLIC on any
-- function it creates. PostgreSQL grants EXECUTE to PUBLIC on every new function unless the
-- creating role's *global* default says otherwise; 0010's `in schema public` form can only add
-- to that default, never remove it, so a function created without its own revoke was callable
-- by anon (fn_projects_resolve_canonical_batch was). Each definition file then grants its
-- function to the roles it names (fn_privileges_set); this covers anything created otherwise.
-- Applied before the functions (this folder comes first); running it again changes nothing.
alter default privileges revoke execute on functions from public;
