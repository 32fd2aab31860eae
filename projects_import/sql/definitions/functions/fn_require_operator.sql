-- Raises insufficient_privilege (42501) unless the caller's JWT claims say operator or admin.
create or replace function public.fn_require_operator() returns void
    language plpgsql stable
    as $$
begin
    if not public.fn_is_operator() then
        raise exception 'insufficient_privilege: operator or admin role required'
            using errcode = 'insufficient_privilege',
                  hint = 'send a user JWT whose app_metadata.role is operator or admin';
    end if;
end
$$;

select public.fn_privileges_set(
    'function public.fn_require_operator()',
    'execute', 'authenticated', 'service_role');
