-- fn_import_batch_diff(tenant, batch, rows) — what publishing a held batch would change, per
-- project (fields old → new, memberships added and ended), found by publishing it in a
-- savepoint that is then rolled back; with the publish answer's counts.
create or replace function public.fn_import_batch_diff(p_tenant_id text, p_batch_id uuid,
                                                       p_rows jsonb)
    returns jsonb
    language plpgsql
    set search_path = public, pg_temp
    as $$
declare
    v_keys     text[] := array(select distinct btrim(r ->> 'stage_application')
                                 from jsonb_array_elements(p_rows) r);
    v_publish  jsonb;
    v_diff     jsonb;
begin
    create temp table if not exists pg_temp.import_diff_before (
        project_key text primary key, fields jsonb, members text[]) on commit drop;
    truncate pg_temp.import_diff_before;
    insert into pg_temp.import_diff_before
    select * from fn_import_projects_snapshot(p_tenant_id, v_keys);
    begin
        v_publish := fn_import_batch_publish(p_tenant_id, p_batch_id, p_rows, 'preview');
        select coalesce(jsonb_agg(d order by d ->> 'project_key'), '[]'::jsonb) into v_diff
          from (
            select jsonb_build_object(
                       'project_key', a.project_key,
                       'inserted', b.project_key is null,
                       'fields', coalesce((select jsonb_object_agg(k, jsonb_build_array(
                                                   b.fields -> k, a.fields -> k))
                                             from jsonb_object_keys(a.fields) k
                                            where b.fields -> k is distinct from a.fields -> k),
                                          '{}'::jsonb),
                       'memberships_added', to_jsonb(array(
                           select unnest(a.members) except
                           select unnest(coalesce(b.members, '{}')) order by 1)),
                       'memberships_ended', to_jsonb(array(
                           select unnest(coalesce(b.members, '{}')) except
                           select unnest(a.members) order by 1))) as d
              from fn_import_projects_snapshot(p_tenant_id, v_keys) a
              left join pg_temp.import_diff_before b using (project_key)
             where b.project_key is null or a.fields is distinct from b.fields
                or a.members is distinct from b.members
          ) changed;
        raise exception 'diff only' using errcode = 'PIHLD';
    exception when sqlstate 'PIHLD' then
        null;
    end;
    return jsonb_build_object(
        'batch_state', v_publish ->> 'batch_state',
        'metrics', v_publish -> 'metrics',
        'superseded_rows', v_publish -> 'superseded_rows',
        'counts', jsonb_build_object(
            'projects_changed', jsonb_array_length(v_diff),
            'projects_inserted', (select count(*) from jsonb_array_elements(v_diff) d
                                   where (d ->> 'inserted')::boolean),
            'memberships_added', (select coalesce(sum(jsonb_array_length(
                                                      d -> 'memberships_added')), 0)
                                    from jsonb_array_elements(v_diff) d),
            'memberships_ended', (select coalesce(sum(jsonb_array_length(
                                                      d -> 'memberships_ended')), 0)
                                    from jsonb_array_elements(v_diff) d)),
        'projects', v_diff);
end
$$;

select public.fn_privileges_set(
    'function public.fn_import_batch_diff(text, uuid, jsonb)',
    'execute', 'service_role');
