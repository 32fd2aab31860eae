-- What every Supabase database holds before the project's own migrations: the `auth` schema
-- with auth.uid()/role()/jwt() reading PostgREST's `request.jwt.claims`, the `extensions`
-- schema, and the default privileges that give the API roles ALL on whatever `postgres`
-- (or `supabase_admin`) later creates in `public`. Run by supabase_admin on template1, so
-- every database created afterwards starts like a Supabase project's.
create schema if not exists auth;
create schema if not exists extensions;

create or replace function auth.jwt() returns jsonb
    language sql stable
    as $$
        select coalesce(
            nullif(current_setting('request.jwt.claim', true), ''),
            nullif(current_setting('request.jwt.claims', true), '')
        )::jsonb
    $$;

create or replace function auth.uid() returns uuid
    language sql stable
    as $$
        select coalesce(
            nullif(current_setting('request.jwt.claim.sub', true), ''),
            (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
        )::uuid
    $$;

create or replace function auth.role() returns text
    language sql stable
    as $$
        select coalesce(
            nullif(current_setting('request.jwt.claim.role', true), ''),
            (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
        )::text
    $$;

grant usage on schema auth to anon, authenticated, service_role, postgres;
grant usage on schema extensions to anon, authenticated, service_role, postgres;
grant usage, create on schema public to postgres;
grant usage on schema public to anon, authenticated, service_role;

create extension if not exists pgcrypto with schema extensions;

alter default privileges for role postgres in schema public
    grant all on tables to anon, authenticated, service_role;
alter default privileges for role postgres in schema public
    grant all on sequences to anon, authenticated, service_role;
alter default privileges for role postgres in schema public
    grant all on functions to anon, authenticated, service_role;
alter default privileges for role supabase_admin in schema public
    grant all on tables to postgres, anon, authenticated, service_role;
alter default privileges for role supabase_admin in schema public
    grant all on sequences to postgres, anon, authenticated, service_role;
alter default privileges for role supabase_admin in schema public
    grant all on functions to postgres, anon, authenticated, service_role;
