-- Supabase's cluster roles, as its documentation describes them: the API roles that PostgREST
-- switches to (`anon`, `authenticated`, `service_role`, the last one bypassing row-level
-- security), `authenticator` (the login PostgREST connects as: noinherit, member of the three),
-- `supabase_admin` (the platform's superuser, who runs this file) and `postgres`, the role a
-- project's owner gets: it may create databases and roles and bypasses RLS, but is NOT a
-- superuser. The migrations of this project run as `postgres`.
create role anon nologin noinherit;
create role authenticated nologin noinherit;
create role service_role nologin noinherit bypassrls;
create role authenticator login noinherit;
grant anon, authenticated, service_role to authenticator;
create role postgres login createdb createrole replication bypassrls;
grant anon, authenticated, service_role to postgres with admin option;
-- As on Supabase, `postgres` may end other non-superuser sessions (e.g. to drop a database
-- that a pooler still holds connections to).
grant pg_signal_backend to postgres;
