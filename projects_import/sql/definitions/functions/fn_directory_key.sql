-- Directory matching key: case-insensitive, inner whitespace collapsed, trimmed (SPEC §5.1).
create or replace function public.fn_directory_key(p_value text) returns text
    language sql immutable parallel safe
    as $$ select nullif(btrim(lower(regexp_replace(p_value, '\s+', ' ', 'g'))), '') $$;

select public.fn_privileges_set(
    'function public.fn_directory_key(text)',
    'execute', 'service_role');
