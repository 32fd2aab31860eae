-- 0001 — What Supabase provides, created only where it is missing.
-- Roles anon / authenticated / service_role, and auth.jwt() reading the transaction's
-- `request.jwt.claims` (PostgREST convention). On a Supabase database every statement here
-- finds its object already present and does nothing.

do $$
declare
    r text;
begin
    foreach r in array array['anon', 'authenticated', 'service_role'] loop
        if not exists (select 1 from pg_roles where rolname = r) then
            begin
                execute format('create role %I nologin noinherit', r);
            exception
                when duplicate_object then null;          -- created by a concurrent migration
                when insufficient_privilege then
                    raise notice 'cannot create role %; RLS reads need it', r;
            end;
        end if;
    end loop;
end
$$;

create schema if not exists auth;

do $$
begin
    if to_regprocedure('auth.jwt()') is null then
        create function auth.jwt() returns jsonb
            language sql stable
            as $f$
                select coalesce(nullif(current_setting('request.jwt.claims', true), ''), '{}')::jsonb
            $f$;
    end if;
end
$$;

do $$
begin
    grant usage on schema auth to anon, authenticated, service_role;
    grant usage on schema public to anon, authenticated, service_role;
exception
    when undefined_object or insufficient_privilege then null;
end
$$;
