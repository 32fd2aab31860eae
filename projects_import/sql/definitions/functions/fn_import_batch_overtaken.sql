-- fn_import_batch_overtaken(tenant, staging) — project keys of a held batch that a batch
-- staged after it has since merged or published (publishing must not undo those).
create or replace function public.fn_import_batch_overtaken(p_tenant_id text, p_staging_id uuid)
    returns text[]
    language sql stable
    set search_path = public, pg_temp
    as $$
    select coalesce(array_agg(distinct btrim(r ->> 'stage_application')), '{}')
      from staging_imports h
      join staging_imports s
        on s.tenant_id = h.tenant_id and s.created_at > h.created_at
       and s.batch_state in ('merged', 'published', 'superseded')
     cross join lateral jsonb_array_elements(s.raw -> 'rows') r
     where h.tenant_id = p_tenant_id and h.id = p_staging_id
       and btrim(r ->> 'stage_application') in (
               select btrim(x ->> 'stage_application')
                 from jsonb_array_elements(h.raw -> 'rows') x)
$$;

select public.fn_privileges_set(
    'function public.fn_import_batch_overtaken(text, uuid)',
    'execute', 'service_role');
