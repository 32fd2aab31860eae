-- fn_jwt_app_role() — the caller's application role from its JWT claims
-- (app_metadata.role: operator, admin or viewer), '' when there is none.
create or replace function public.fn_jwt_app_role() returns text
    language sql stable
    as $$ select coalesce(auth.jwt() -> 'app_metadata' ->> 'role', '') $$;

select public.fn_privileges_set(
    'function public.fn_jwt_app_role()',
    'execute', 'authenticated', 'service_role');
