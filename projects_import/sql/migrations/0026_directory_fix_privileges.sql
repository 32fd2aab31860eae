-- 0026 — Follow-ups of 0024/0025 under explicit privileges (0010) and on every lane:
--   * service_role runs fn_projects_membership_backfill(text), which since 0025 runs the
--     two-argument form: it may run that one too;
--   * fn_directory_suggestions finds similarity() through `public, extensions` wherever pg_trgm
--     was installed by 0024 (the same setting on plain PostgreSQL and on Supabase); a server
--     whose pg_trgm lives in another schema keeps the path 0024 set.

do $$
begin
    grant execute on function public.fn_projects_membership_backfill(text, text[])
       to service_role;
exception
    when undefined_object then null;  -- no service_role on this server
end
$$;

do $$
begin
    if (select n.nspname from pg_extension e join pg_namespace n on n.oid = e.extnamespace
         where e.extname = 'pg_trgm') in ('public', 'extensions') then
        alter function public.fn_directory_suggestions(text, text, text, integer)
            set search_path = public, extensions, pg_temp;
    end if;
end
$$;
