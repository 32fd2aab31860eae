-- fn_privileges_set(object, privilege, roles...) — the whole grant list of one object, as its
-- definition file states it: everything is revoked from PUBLIC and from the API roles (anon,
-- authenticated, service_role), then `p_privilege` is granted to each of `p_roles` that exists
-- on this server ('public' for PUBLIC). A server without the API roles (a migrating role that
-- could not create them, see 0001) gets the grants it can hold. Whatever history of grants a
-- database has, the object ends with the same privileges on a fresh and an upgraded database.
-- `p_object` is a GRANT target: 'function public.fn_x(text)', 'table public.vw_y'.
create or replace function public.fn_privileges_set(
    p_object text, p_privilege text, variadic p_roles text[])
    returns void
    language plpgsql
    set search_path = public, pg_temp
    as $$
declare
    v_role text;
begin
    execute format('revoke all on %s from public', p_object);
    for v_role in select rolname from pg_roles
                   where rolname in ('anon', 'authenticated', 'service_role')
                   order by rolname loop
        execute format('revoke all on %s from %I', p_object, v_role);
    end loop;
    foreach v_role in array p_roles loop
        if v_role = 'public' then
            execute format('grant %s on %s to public', p_privilege, p_object);
        elsif exists (select 1 from pg_roles where rolname = v_role) then
            execute format('grant %s on %s to %I', p_privilege, p_object, v_role);
        end if;
    end loop;
end
$$;

select public.fn_privileges_set(
    'function public.fn_privileges_set(text, text, text[])',
    'execute', variadic '{}'::text[]);
