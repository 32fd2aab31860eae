-- The trusted server key (service_role) may edit directories like an admin, as it counts as an
-- operator in fn_is_operator (0010).
create or replace function public.fn_is_admin() returns boolean
    language sql stable
    as $$
        select public.fn_jwt_app_role() = 'admin'
            or coalesce(auth.jwt() ->> 'role', '') = 'service_role'
    $$;

select public.fn_privileges_set(
    'function public.fn_is_admin()',
    'execute', 'authenticated', 'service_role');
