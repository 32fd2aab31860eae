-- fn_import_batch_publish(tenant, batch, rows, actor) — merge a held batch's rows (parsed by
-- the service) except those a later batch overtook; state published, or superseded when
-- some rows were overtaken. Errors: P0002 no such batch, 55000 not held.
create or replace function public.fn_import_batch_publish(p_tenant_id text, p_batch_id uuid,
                                               p_rows jsonb, p_actor text)
    returns jsonb
    language plpgsql
    set search_path = public, pg_temp
    as $$
declare
    v_staged     staging_imports%rowtype;
    v_overtaken  text[];
    v_rows       jsonb;
    v_metrics    jsonb;
    v_state      text;
begin
    perform fn_projects_import_lock(p_tenant_id);
    select * into v_staged from staging_imports
     where tenant_id = p_tenant_id and batch_id = p_batch_id
       for update;
    if not found then
        raise exception 'no staged batch % for tenant %', p_batch_id, p_tenant_id
            using errcode = 'no_data_found';
    end if;
    if v_staged.batch_state <> 'held' then
        raise exception 'batch % is %, not held', p_batch_id, v_staged.batch_state
            using errcode = 'object_not_in_prerequisite_state';
    end if;
    v_overtaken := fn_import_batch_overtaken(p_tenant_id, v_staged.id);
    select coalesce(jsonb_agg(r order by o), '[]'::jsonb) into v_rows
      from jsonb_array_elements(p_rows) with ordinality as e(r, o)
     where btrim(r ->> 'stage_application') <> all (v_overtaken);

    if jsonb_array_length(v_rows) > 0 then
        v_metrics := fn_projects_import_merge(p_tenant_id, v_staged.source, p_batch_id, v_rows,
                                              v_staged.correlation_id);
    else
        v_metrics := jsonb_build_object('rows', 0, 'staging_id', v_staged.id);
    end if;
    v_state := case when cardinality(v_overtaken) > 0 then 'superseded' else 'published' end;
    update staging_imports
       set batch_state = v_state,
           validation = case when validation ? 'metrics' then validation
                             else validation || jsonb_build_object('metrics', v_metrics) end
     where tenant_id = p_tenant_id and id = v_staged.id;
    insert into import_batch_decisions (tenant_id, staging_id, batch_id, decision, actor,
                                        details)
    values (p_tenant_id, v_staged.id, p_batch_id, v_state,
            coalesce(nullif(btrim(p_actor), ''), 'unknown'),
            jsonb_build_object('metrics', v_metrics,
                               'superseded_rows', cardinality(v_overtaken)));
    return jsonb_build_object('batch_id', p_batch_id, 'staging_id', v_staged.id,
                              'batch_state', v_state, 'metrics', v_metrics,
                              'superseded_rows', cardinality(v_overtaken),
                              'superseded_projects', to_jsonb(v_overtaken));
end
$$;

select public.fn_privileges_set(
    'function public.fn_import_batch_publish(text, uuid, jsonb, text)',
    'execute', 'service_role');
