-- fn_directory_check_tenant — 22023 for a blank tenant, P0002 for an unknown one.
create or replace function public.fn_directory_check_tenant(p_tenant_id text) returns void
    language plpgsql stable
    set search_path = public, pg_temp
    as $$
begin
    if not exists (select 1 from tenants where tenant_id = p_tenant_id) then
        raise exception 'no tenant %', coalesce(p_tenant_id, 'null')
            using errcode = 'no_data_found';
    end if;
end
$$;

select public.fn_privileges_set(
    'function public.fn_directory_check_tenant(text)',
    'execute', variadic '{}'::text[]);
