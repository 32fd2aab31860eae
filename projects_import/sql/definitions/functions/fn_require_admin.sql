-- Raises insufficient_privilege (42501) unless the caller's JWT claims say admin.
create or replace function public.fn_require_admin() returns void
    language plpgsql stable
    as $$
begin
    if not public.fn_is_admin() then
        raise exception 'insufficient_privilege: admin role required'
            using errcode = 'insufficient_privilege',
                  hint = 'directory changes need a user whose app_metadata.role is admin';
    end if;
end
$$;

select public.fn_privileges_set(
    'function public.fn_require_admin()',
    'execute', 'authenticated', 'service_role');
