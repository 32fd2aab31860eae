-- service_role: the trusted server key counts as an operator, whether PostgREST switched to it
-- (`set local role service_role`) or its JWT says so.
create or replace function public.fn_is_operator() returns boolean
    language sql stable
    as $$
        select public.fn_jwt_app_role() in ('operator', 'admin')
            or coalesce(auth.jwt() ->> 'role', '') = 'service_role'
            or current_setting('role', true) = 'service_role'
    $$;

select public.fn_privileges_set(
    'function public.fn_is_operator()',
    'execute', 'authenticated', 'service_role');
