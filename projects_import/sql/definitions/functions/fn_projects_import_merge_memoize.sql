-- fn_projects_import_merge_memoize — merge step: memoize. The first merge of a staged batch
-- keeps its metrics in staging_imports.validation; a later one (a replay, a re-run) is
-- appended to `reruns` with when it ran and its correlation id.
create or replace function public.fn_projects_import_merge_memoize(
    p_tenant_id text, p_staging_id uuid, p_correlation_id uuid, p_metrics jsonb)
    returns void
    language plpgsql
    set search_path = public, pg_temp
    as $$
begin
    if p_staging_id is not null then
        update staging_imports
           set validation = case
                   when validation ? 'metrics' then
                       jsonb_set(validation, '{reruns}',
                                 coalesce(validation -> 'reruns', '[]'::jsonb)
                                 || jsonb_build_array(p_metrics
                                        || jsonb_build_object('at', now(),
                                                              'correlation_id', p_correlation_id)))
                   else validation || jsonb_build_object('metrics', p_metrics)
               end
         where tenant_id = p_tenant_id and id = p_staging_id;
    end if;
end
$$;

select public.fn_privileges_set(
    'function public.fn_projects_import_merge_memoize(text, uuid, uuid, jsonb)',
    'execute', 'service_role');
